// Conditional requests (RFC 9110 section 13): deciding whether a request's validators match a
// response, and shrinking that response to the 304 Not Modified a client then gets.
//
//   if (larder::http::EvaluateConditional(request.headers, etag, std::nullopt) ==
//       larder::http::Conditional::kNotModified) {
//     response = larder::http::MakeNotModified(response, {"X-Cache"});
//   }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/headers.h"
#include "larder/http/response.h"

namespace larder::http {

enum class Conditional {
  kNone,         // The request carries no validator this layer evaluates.
  kNotModified,  // The validators match: answer 304.
  kModified,     // Validators present but not matching: answer in full.
};

// Evaluates If-None-Match (weak comparison, lists, "*"; RFC 9110 section 13.1.2) against
// `etag`, the quoted entity tag of the response that would be sent. If-None-Match takes
// precedence: If-Modified-Since is evaluated against `last_modified` only when the request
// has no If-None-Match (section 13.2.2). Only meaningful for GET and HEAD.
Conditional EvaluateConditional(const Headers& request_headers, absl::string_view etag,
                                std::optional<absl::Time> last_modified);

// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt when malformed.
std::optional<absl::Time> ParseHttpDate(absl::string_view value);
// Formats an IMF-fixdate.
std::string FormatHttpDate(absl::Time time);

// The 304 a server sends instead of `full` (RFC 9110 section 15.4.5): no body, and of the
// headers only those a 200 would carry that guide caches: ETag, Cache-Control, Vary, Expires,
// Content-Location, Date, Age, Cache-Status, plus the names in `also_keep` (e.g. "X-Cache").
// The length of the full body is not announced.
Response MakeNotModified(const Response& full, const std::vector<std::string>& also_keep);

}  // namespace larder::http

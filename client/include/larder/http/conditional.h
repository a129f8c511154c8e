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

// Parses an HTTP-date in any of the three formats a recipient must accept (RFC 9110 section
// 5.6.7), after trimming surrounding whitespace:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"  (the two-digit year is the latest year with
//                 those digits that is not more than 50 years after `now`)
//   asctime      "Sun Nov  6 08:49:37 1994"         (day as two digits or space and one digit)
// Strict: names are case-sensitive, every field has its exact width, the day must exist in its
// month, hours 00-23, minutes 00-59, seconds 00-59 (60 only at 23:59, a leap second, read as
// the next second), years 0000-9999, the zone is GMT. The day name is checked for spelling, not
// against the date. nullopt otherwise. O(1): longer values are refused by length.
std::optional<absl::Time> ParseHttpDate(absl::string_view value, absl::Time now);
// As above with the current time as `now` (it only matters for RFC 850 dates).
std::optional<absl::Time> ParseHttpDate(absl::string_view value);
// Formats an IMF-fixdate (the only format a sender may generate). Times outside the years
// 0000-9999 (infinite ones included) are clamped to the first or last second of that range.
std::string FormatHttpDate(absl::Time time);

// The 304 a server sends instead of `full` (RFC 9110 section 15.4.5): no body, and of the
// headers only those a 200 would carry that guide caches: ETag, Cache-Control, Vary, Expires,
// Content-Location, Date, Age, Cache-Status, plus the names in `also_keep` (e.g. "X-Cache").
// The length of the full body is not announced.
Response MakeNotModified(const Response& full, const std::vector<std::string>& also_keep);

}  // namespace larder::http

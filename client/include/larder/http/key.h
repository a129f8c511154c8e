// Cache keys and path tags: which stored response a request may be answered with.
//
//   larder::http::KeyOptions options;
//   options.vary = {"Accept-Language"};
//   options.cookies = {"currency"};
//   std::string key = larder::http::DefaultCacheKey(request, options);   // 32 hex digits
//   std::string tag = larder::http::PathTag("/items/7");                 // "path:/items/7"
//
// The default key is the XXH3-128 hash (lowercase hex, as in larder::StrongEtagFor) of the
// canonical request text:
//
//   "larder-http-key/2\n" METHOD "\n" scheme "\n" host "\n" path "\n" query "\n"
//   { vary-name ":" value "\n" } { "cookie:" cookie-name [ "=" value { ";" value } ] "\n" }
//
// where METHOD is GET for HEAD; scheme and host are lower-cased; path is Request::path (already
// percent-decoded by the adapter); query holds the decoded parameters, stably sorted by name
// (the values of a repeated name keep their order: ?tag=x&tag=y and ?tag=y&tag=x differ),
// re-encoded (optionally only the declared names); the vary names are lower-cased and sorted,
// each with the request's values of that header joined by ", "; the cookie names are sorted
// (case-sensitive, as cookie names are), each followed by "=" and the values of every cookie of
// that name in the request's Cookie headers, in order, joined by ";" — or by nothing when the
// request has no such cookie, so an absent cookie differs from an empty one.
// The hash is stable across processes and machines; the version line changes whenever the text
// does (version 1 had no scheme and no cookies, and sorted repeated parameters by value).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "larder/http/headers.h"
#include "larder/http/request.h"

namespace larder::http {

struct KeyOptions {
  KeyOptions() = default;
  // So KeyOptions{vary, query_params} still reads as it did before `cookies` existed.
  KeyOptions(std::vector<std::string> vary, std::optional<std::vector<std::string>> query_params,
             std::vector<std::string> cookies = {})
      : vary(std::move(vary)), query_params(std::move(query_params)), cookies(std::move(cookies)) {}

  // Request headers whose values select the response. Default: none.
  std::vector<std::string> vary;
  // Query parameters that count; nullopt counts all. Default: nullopt.
  std::optional<std::vector<std::string>> query_params;
  // Names of the cookies whose values select the response (RoutePolicy::vary_cookies).
  // Case-sensitive. Default: none.
  std::vector<std::string> cookies;
};

// The canonical text described above (readable; tests and debugging). O(size of the request's
// query and headers + the names in `options` times the request's cookies).
std::string CanonicalRequestText(const Request& request, const KeyOptions& options);
// The default larder key: 32 lowercase hex digits of the canonical text's hash.
std::string DefaultCacheKey(const Request& request, const KeyOptions& options);
// The query in canonical form: decoded pairs stably sorted by name, re-encoded, joined by '&'.
std::string CanonicalQuery(absl::string_view query,
                           const std::optional<std::vector<std::string>>& keep);
// The cookies of the request's Cookie fields (RFC 6265 sections 4.2.1 and 5.4): the fields'
// values split at ';', each "name=value" split at its first '=', name and value trimmed of
// spaces and tabs; members without '=' or with an empty name are skipped. Values are kept as
// sent (quotes included). In order. O(size of the Cookie fields).
std::vector<std::pair<std::string, std::string>> ParseCookies(const Headers& headers);
// The tag every stored response of `path` carries, so a write to the path can invalidate
// them: "path:" + path, or "path:#" + hash when the path is longer than 250 bytes.
std::string PathTag(absl::string_view path);

}  // namespace larder::http

// Cache keys and path tags: which stored response a request may be answered with.
//
//   larder::http::KeyOptions options{/*vary=*/{"Accept-Language"}, /*query_params=*/{}};
//   std::string key = larder::http::DefaultCacheKey(request, options);   // 32 hex digits
//   std::string tag = larder::http::PathTag("/items/7");                 // "path:/items/7"
//
// The default key is the XXH3-128 hash (lowercase hex, as in larder::StrongEtagFor) of the
// canonical request text:
//
//   "larder-http-key/1\n" METHOD "\n" host "\n" path "\n" query "\n" { vary-name ":" value "\n" }
//
// where METHOD is GET for HEAD, host is lower-cased, query holds the decoded parameters sorted
// by name then value and re-encoded (optionally only the declared names), and the vary names are
// lower-cased and sorted, each with the request's values of that header joined by ", ".
// The hash is stable across processes, machines and versions of this library.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "larder/http/request.h"

namespace larder::http {

struct KeyOptions {
  // Request headers whose values select the response. Default: none.
  std::vector<std::string> vary;
  // Query parameters that count; nullopt counts all. Default: nullopt.
  std::optional<std::vector<std::string>> query_params;
};

// The canonical text described above (readable; tests and debugging).
std::string CanonicalRequestText(const Request& request, const KeyOptions& options);
// The default larder key: 32 lowercase hex digits of the canonical text's hash.
std::string DefaultCacheKey(const Request& request, const KeyOptions& options);
// The query in canonical form: decoded pairs sorted, re-encoded, joined by '&'.
std::string CanonicalQuery(absl::string_view query,
                           const std::optional<std::vector<std::string>>& keep);
// The tag every stored response of `path` carries, so a write to the path can invalidate
// them: "path:" + path, or "path:#" + hash when the path is longer than 250 bytes.
std::string PathTag(absl::string_view path);

}  // namespace larder::http

// The routes of larder-proxy: which requests are cached, in which larder namespace, for how long
// and depending on which request headers and cookies. Read from an optional YAML file
// (--config); without one, every path is cached by its response headers alone in namespace
// "http" (DefaultProxyConfig). The file format is documented in docs/proxy.md:
//
//   tags_header: Surrogate-Key       # response header listing the entry's tags (default)
//   routes:                          # first match wins
//     - name: items
//       prefix: /items/              # or regex: ^/items/[0-9]+$  (RE2, matched on the path)
//       namespace: items
//       max_ttl: 10m                 # longest lifetime, whatever the response says
//       default_ttl: 30s             # lifetime of a response that states none (default: none)
//       vary: [Accept-Language]      # request headers the response depends on
//       cookies: [session]           # cookies the response depends on
//       stale_while_revalidate: 10s
//       stale_if_error: 5m
//     - prefix: /admin/
//       cache: false                 # forwarded, never stored
//   default:                         # requests no route matches (same fields, no prefix/regex)
//     namespace: http
//
//   absl::StatusOr<ProxyConfig> config = LoadProxyConfig("/etc/larder/routes.yaml");
//   const ProxyRoute& route = MatchRoute(*config, "/items/7");
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/policy.h"

namespace re2 {
class RE2;
}

namespace larder::proxy {

// The largest config file read (bytes), and the most routes it may list.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;
inline constexpr size_t kMaxRoutes = 1024;

// One route: what it matches and how its responses are cached.
struct ProxyRoute {
  // The metrics label (RoutePolicy::route). Default: the prefix or regex as written; "default"
  // for the default route.
  std::string name;
  // Exactly one of `prefix` (the path starts with it) and `regex` (RE2, a partial match on the
  // decoded path, so anchor it with ^ and $) is set; neither for the default route.
  std::string prefix;
  std::shared_ptr<const re2::RE2> regex;
  // false: requests are forwarded and nothing is stored or served from larder; unsafe methods
  // still invalidate. Default: true.
  bool cache = true;
  // How cached responses of the route are kept: freshness is always kResponse (the upstream's
  // headers decide, capped at `policy.ttl`, the route's max_ttl); namespace, vary, cookies,
  // query params, stale windows, client refresh, sharing of Authorization requests and tags as
  // RoutePolicy documents them. Validated with http::ValidatePolicy.
  http::RoutePolicy policy;
};

struct ProxyConfig {
  // In file order; the first route whose prefix or regex matches the path wins.
  std::vector<ProxyRoute> routes;
  // Used when no route matches.
  ProxyRoute default_route;
  // The response header whose space-separated values are the entry's larder tags (what
  // `larderctl invalidate NS --tag=T` purges). Empty: none. Default: "Surrogate-Key".
  std::string tags_header = "Surrogate-Key";
  // Whether tags_header is removed from responses sent to clients (as Fastly does: the tags are
  // the cache's business). Default: true.
  bool strip_tags_header = true;
};

// Every path cached by response headers alone in namespace "http": max_ttl 1 h, no default_ttl.
ProxyConfig DefaultProxyConfig();

// Parses a config. kInvalidArgument on any error, one line naming the source, line and field:
// "routes.yaml:12: routes[1].max_ttl: '10 minutes' is not a duration (e.g. 30s, 10m, 1h)".
// Unknown keys are errors (a typo must not silently cache something). Cost: O(text size);
// text over kMaxConfigBytes, nesting deeper than 8 or more than kMaxRoutes routes are refused.
absl::StatusOr<ProxyConfig> ParseProxyConfig(absl::string_view text, absl::string_view source);
// Reads and parses `path` (kNotFound / kInvalidArgument, naming the path).
absl::StatusOr<ProxyConfig> LoadProxyConfig(const std::string& path);

// The route of a decoded request path. O(routes), each regex linear in the path (RE2).
const ProxyRoute& MatchRoute(const ProxyConfig& config, absl::string_view path);

}  // namespace larder::proxy

// RoutePolicy: how one route's responses are cached in larder and what clients are told about
// caching them. Plain options; every field says its default.
//
//   larder::http::RoutePolicy policy;
//   policy.cache_namespace = "items";
//   policy.ttl = absl::Seconds(30);
//   policy.tags = {"items"};
//   policy.vary = {"Accept-Language"};
//   policy.client.max_age = absl::Seconds(30);
//   policy.client.is_public = true;
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/common/limits.h"
#include "larder/http/cache_control.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http {

// The Cache-Control directives sent to clients (browsers, CDNs). They do not change how long
// larder keeps a response; RoutePolicy::ttl does.
struct ClientDirectives {
  // Default: unset.
  std::optional<absl::Duration> max_age;
  // Default: unset.
  std::optional<absl::Duration> s_maxage;
  bool is_public = false;        // Default: false.
  bool is_private = false;       // Default: false.
  bool no_cache = false;         // Default: false.
  bool no_store = false;         // Default: false.
  bool immutable = false;        // Default: false.
  bool must_revalidate = false;  // Default: false.
};

// Where the lifetime of a stored response comes from.
enum class FreshnessSource {
  // RoutePolicy::ttl, shortened by the response's own lifetime (s-maxage, max-age, Expires)
  // when that is shorter.
  kPolicy,
  // The response (RFC 9111 section 4.2.1): s-maxage, then max-age, then Expires - Date, then
  // 10% of Date - Last-Modified for heuristically cacheable statuses (section 4.2.2); capped
  // at RoutePolicy::ttl; then RoutePolicy::response_default_ttl where section 4.2.2 allows a
  // lifetime the response did not state. A response with none of these is not stored. Its own
  // stale-while-revalidate and stale-if-error (RFC 5861) replace the route's windows. For routes
  // in front of an upstream that states its own freshness (larder-proxy).
  kResponse,
};

// A check that runs before any cached response may be served (authentication, API keys, rate
// limits). Returning a response short-circuits the request with it; nullopt lets it through.
using Check = std::function<std::optional<Response>(const Request&)>;

// Builds the larder key of a request (at most limits::kMaxKeyBytes; empty means "do not cache
// this one").
// HEAD requests are presented as GET so they find the GET entry.
using KeyBuilder = std::function<std::string(const Request&)>;

struct RoutePolicy {
  // The `route` label of the metrics. Default: empty, meaning `cache_namespace`.
  std::string route;
  // The larder namespace (1-limits::kMaxNamespaceBytes of [A-Za-z0-9_.-]). Default: "http".
  std::string cache_namespace = "http";
  // How long a stored response is fresh (kPolicy), or the longest it may be (kResponse). In
  // both modes the response's own no-store, private, no-cache (stored only with a validator,
  // and then revalidated on every use) and a shorter lifetime win. Default: 60 s.
  absl::Duration ttl = absl::Seconds(60);
  // Where freshness comes from. Default: kPolicy.
  FreshnessSource freshness = FreshnessSource::kPolicy;
  // kResponse only (ignored under kPolicy): the lifetime of a response that states none (no
  // s-maxage, max-age or Expires, and no heuristic one from Last-Modified), capped at `ttl`,
  // like Varnish's default_ttl. Only where RFC 9111 section 4.2.2 allows a heuristic lifetime:
  // a heuristically cacheable status (200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414,
  // 501) or an explicitly cacheable response (`public`); no-store, private etc. still win.
  // Positive when set. Default: unset: such responses are not stored.
  std::optional<absl::Duration> response_default_ttl;
  // A response header whose values are more larder tags of the stored response (the
  // Surrogate-Key convention of Fastly and Souin: an upstream names what its response depends
  // on, and InvalidateTag purges it). Every field line of that name is split at spaces, tabs
  // and commas; empty items and tags already present are dropped; the rest come after `tags`
  // and `tags_for`, under the same limits: when the whole set fails ValidateRouteTags, the
  // response is served but not stored, counted as operation="tags" in
  // larder_http_store_errors_total. The header itself is stored and sent like any other. Both
  // freshness modes. An RFC 9110 token when set. Default: empty: none.
  std::string response_tags_header;
  // Request headers the response depends on: part of the key and sent as Vary. Default: none.
  std::vector<std::string> vary;
  // Query parameters kept in the default key; nullopt keeps all. Default: nullopt.
  std::optional<std::vector<std::string>> query_params;
  // Replaces the default key (DefaultCacheKey). Default: unset.
  KeyBuilder key_builder;
  // larder tags of every stored response, for InvalidateTag: see ValidateRouteTags.
  // Default: none.
  std::vector<std::string> tags;
  // More tags computed per request, stored after `tags`. When `tags` and these together fail
  // ValidateRouteTags, the response is served but not stored (an entry missing one of its tags
  // would escape that tag's invalidation) and larder_http_store_errors_total{operation="tags"}
  // counts it. Default: unset.
  std::function<std::vector<std::string>(const Request&)> tags_for;
  // Response statuses that may be stored. Default: {200}.
  std::set<int> cached_statuses = {200};
  // Cache-Control sent to clients when the handler sets none. Default: nothing set, which
  // sends "no-cache" (clients revalidate every time, cheaply, with If-None-Match).
  ClientDirectives client;
  // An expired response this young past its ttl is served at once while one background
  // refresh runs (under kResponse, unless the response states its own window). Default: 0 (off).
  absl::Duration stale_while_revalidate = absl::ZeroDuration();
  // An expired response this young past its ttl replaces a failed render (exception or 5xx)
  // (under kResponse, unless the response states its own window). Default: 0 (off).
  absl::Duration stale_if_error = absl::ZeroDuration();
  // Checks run, in order, before a cached response can be served. Default: none.
  std::vector<Check> checks_before_lookup;
  // Cookies the response depends on: their values are part of the key, and a request carrying
  // other cookies may still share the stored response. Default: none.
  std::vector<std::string> vary_cookies;
  // Whether the response never depends on the request's cookies, so requests carrying Cookie
  // share stored responses. Default: false: a request with a Cookie header bypasses the shared
  // cache unless `vary_cookies` names the cookies that matter.
  bool ignore_cookies = false;
  // Whether requests carrying Authorization may be served from and stored into the shared
  // cache. Only for routes whose response does not depend on who asks. Default: false.
  bool shared = false;
  // Whether request directives that force a render of a stored response are honoured:
  // Cache-Control no-cache, max-age, min-fresh and Pragma: no-cache. Default: false, as in
  // Varnish and most CDNs: this cache is shared, so one client must not be able to make the
  // handler run for everyone (browsers send max-age=0 on every reload), and a stored response
  // is already invalidated by writes. When true, such refreshes of one key are coalesced into
  // one handler run, like misses. only-if-cached and max-stale are always honoured.
  bool honor_client_refresh = false;
  // Whether concurrent misses of one key run the handler once. Default: true.
  bool coalesce = true;
  // Fleet-wide single flight: on a miss with nothing stored, the process about to render asks
  // the store for the key's lease (larderd's leases, ResponseStore::Lease); while another
  // process holds it, this one waits up to `lease_wait` for its response before rendering
  // without a lease. Also the lease's lifetime (at most 60 s): make it longer than the route
  // usually renders, or the holder's store is refused. Zero turns leases off for the route.
  // Default: 5 s.
  absl::Duration lease_wait = absl::Seconds(5);
  // Whether a successful POST/PUT/PATCH/DELETE through this policy invalidates the entries of
  // its path (and of its Location / Content-Location paths). Default: true.
  bool invalidate_on_write = true;
};

// The route tags one stored response may carry: every entry also carries its path tag
// (PathTag), which takes the last of the limits::kMaxTagsPerEntry places.
inline constexpr int kMaxRouteTags = limits::kMaxTagsPerEntry - 1;

// kInvalidArgument naming the first offending tag unless every tag is 1-limits::kMaxTagBytes
// bytes and there are at most kMaxRouteTags of them. O(tags).
absl::Status ValidateRouteTags(const std::vector<std::string>& tags);

// kInvalidArgument naming the field when the policy cannot work: empty or malformed
// namespace, non-positive ttl or response_default_ttl, negative stale windows or lease_wait,
// `tags` failing ValidateRouteTags, a response_tags_header that is not a field name (an RFC 9110
// token), an empty cached_statuses.
absl::Status ValidatePolicy(const RoutePolicy& policy);

// Why a request must not use the shared cache because of its cookies: "cookie" when it carries
// Cookie and the route neither ignores cookies (ignore_cookies) nor names the ones that matter
// (vary_cookies, which must then be part of the key: see CookiesInKey); "" otherwise. O(1).
absl::string_view CookieBypass(const Request& request, const RoutePolicy& policy);

// True when the route's vary_cookies are part of the default key (KeyOptions::cookies). While
// the key cannot carry cookies, a request with Cookie on a vary_cookies route bypasses.
bool CookiesInKey();

// The longest the route's own windows make larder keep an entry: ttl + max(stale_while_revalidate,
// stale_if_error). Each stored response is kept for its own remaining lifetime plus its windows
// (docs/http.md, under the route policy table).
absl::Duration StorageTtl(const RoutePolicy& policy);

// The client directives as a Cache-Control struct.
ResponseCacheControl ToCacheControl(const ClientDirectives& directives);

// The route's Cache-Control for clients as a header value; "no-cache" when nothing is set.
std::string ClientCacheControl(const RoutePolicy& policy);

// The metrics label: `route`, or the namespace when that is empty.
const std::string& RouteLabel(const RoutePolicy& policy);

}  // namespace larder::http

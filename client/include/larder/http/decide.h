// Decide: the pure decision of how to answer a request, given what larder holds for it.
//
//   if (larder::http::NeedsLookup(request, policy)) stored = store.Lookup(ns, key);
//   larder::http::Decision d = larder::http::Decide(request, policy, stored_meta_or_null, now);
//   switch (d.action) { case larder::http::Action::kServe: … }
//
// The rules, in order (RFC 9111 where it applies, this layer's policy elsewhere):
//  1. A method other than GET/HEAD: bypass (fwd=method).
//  2. Authorization on a route not marked shared: bypass (fwd=bypass, detail=authorization).
//  2b. Cookie on a route that neither ignores cookies nor names the ones that matter
//     (RoutePolicy::vary_cookies, see CookieBypass): bypass (fwd=bypass, detail=cookie): one
//     user's response is never stored for, nor served to, another.
//  3. Request Cache-Control no-store: bypass; the response is not stored and the stored one
//     stays (fwd=request, detail=no-store).
//  4. On a route with honor_client_refresh: request no-cache, max-age=0, or Pragma: no-cache
//     without Cache-Control: miss that replaces the stored response (fwd=request), coalesced
//     with concurrent misses and refreshes of the key. Without it (the default) these, and the
//     request's max-age and min-fresh, are ignored.
//  5. Nothing stored: miss (fwd=uri-miss), coalesced.
//  6. Fresh (now < fresh_until) and acceptable to the request's max-age / min-fresh: serve, or
//     not-modified when If-None-Match matches the stored ETag. A stored response the request's
//     max-age / min-fresh refuses (honor_client_refresh only) is a coalesced miss (fwd=request).
//  7. Stale within stale-while-revalidate (and within the request's max-stale, when it sends
//     one): serve stale now, refresh in the background. The stale windows are the route's, or
//     the ones given (StaleWindows: the pipeline passes the stored response's own under
//     FreshnessSource::kResponse, RFC 5861).
//  7b. Stale within the request's max-stale: served stale (detail=max-stale), refreshed in the
//     background.
//  8. Otherwise stale: miss (fwd=stale); within stale-if-error the stored response may replace
//     a failed render, whatever the request's max-stale (RFC 5861 section 4).
// HEAD is answered from the GET entry; a HEAD miss renders but never stores. A stored response's
// own must-revalidate / proxy-revalidate / no-cache are applied by the pipeline on top
// (freshness.h): a stored no-cache response (RFC 9111 section 5.2.2.4) is never served without
// revalidation, fresh or stale: rules 6-8 become a coalesced miss (fwd=stale) that revalidates
// it with the handler, without stale-if-error. A miss of a request with only-if-cached is
// answered 504 by the pipeline.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/cache_status.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http {

enum class Action {
  kServe,        // Send the stored response.
  kNotModified,  // Send a 304 built from the stored response.
  kStale,        // Send the stored (stale) response; refresh it in the background.
  kMiss,         // Run the handler; store the result when `store` and storable.
  kBypass,       // Run the handler; never read nor write the cache.
};

struct Decision {
  Action action = Action::kMiss;
  Forward forward = Forward::kNone;
  // kMiss: store a storable result.
  bool store = false;
  // kMiss: concurrent misses of the key may share one render.
  bool coalesce = false;
  // kMiss: the stored response may be served if the handler fails.
  bool stale_if_error = false;
  // Why, for Cache-Status detail and logs.
  std::string detail;
};

// How long past its freshness a stored response may still be served (RFC 5861).
struct StaleWindows {
  // Served at once while one background refresh runs (rule 7).
  absl::Duration while_revalidate = absl::ZeroDuration();
  // May replace a failed render (rule 8).
  absl::Duration if_error = absl::ZeroDuration();
};

// The route's windows: RoutePolicy::stale_while_revalidate and stale_if_error.
StaleWindows RouteStaleWindows(const RoutePolicy& policy);

// False when Decide's answer cannot depend on a stored response (rules 1-4): no lookup then.
bool NeedsLookup(const Request& request, const RoutePolicy& policy);

// `stored` is null when nothing is stored (or no lookup was made). With the route's windows.
Decision Decide(const Request& request, const RoutePolicy& policy, const StoredMeta* stored,
                absl::Time now);
// The same with the stale windows of the stored response (rules 7 and 8). O(request headers).
Decision Decide(const Request& request, const RoutePolicy& policy, const StoredMeta* stored,
                const StaleWindows& windows, absl::Time now);

// Whether the request says only-if-cached (a miss is then answered 504, RFC 9111 5.2.1.7).
bool OnlyIfCached(const Request& request);

// The metrics label of an action: "hit", "not_modified", "stale", "miss", "bypass".
absl::string_view ActionLabel(Action action);

}  // namespace larder::http

// Freshness of a response this layer is about to store (RFC 9111 section 4.2): its lifetime
// from the route's policy or from the response itself, and its corrected initial age (section
// 4.2.3) from the upstream's Age and Date; its stale windows (RFC 5861) and how long larder
// keeps it; plus the rules a stored response's own directives impose on a decision
// (must-revalidate, proxy-revalidate, no-cache).
// A no-cache response (RFC 9111 section 5.2.2.4) with a validator is stored, but every use of it
// is a revalidation; without a validator it is not stored at all.
//
//   Freshness f = ComputeFreshness(response, policy, request_time, response_time);
//   if (f.storable) { meta.stored_at = response_time - f.corrected_initial_age;
//                     meta.fresh_until = meta.stored_at + f.lifetime; }
//   absl::Duration keep = KeepFor(record, policy, now);          // the store's ttl
//   Decision decision = DecideStored(request, policy, &stored, now);
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "larder/http/cache_control.h"
#include "larder/http/decide.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http::internal {

struct Freshness {
  // False when the response must not be stored for want of a lifetime: none stated in kResponse
  // mode, no-cache without a validator (ETag or Last-Modified), or a lifetime no longer than its
  // age (already stale on arrival). A no-cache response with a validator is storable when it has
  // a lifetime, or its status is heuristically cacheable (lifetime zero then), even stale on
  // arrival: it is revalidated on every use anyway.
  bool storable = false;
  // Why not, as a short token ("no-freshness", "no-cache", "stale-on-arrival"); empty otherwise.
  std::string reason;
  absl::Duration lifetime = absl::ZeroDuration();
  absl::Duration corrected_initial_age = absl::ZeroDuration();
};

// The lifetime the response states (section 4.2.1): s-maxage (this is a shared cache), then
// max-age, then Expires - Date (an Expires that is not an HTTP-date means already expired);
// nullopt when it states none. Date defaults to `response_time`. O(header bytes).
std::optional<absl::Duration> StatedLifetime(const ResponseCacheControl& cc,
                                             const Response& response, absl::Time response_time);

// Whether a cache may give the response a lifetime it does not state (RFC 9111 section 4.2.2): a
// heuristically cacheable status, or an explicitly cacheable response (`public`).
bool MayAssignLifetime(const ResponseCacheControl& cc, int status);

// 10% of Date - Last-Modified for a response with a valid Last-Modified that MayAssignLifetime;
// nullopt otherwise.
std::optional<absl::Duration> HeuristicLifetime(const ResponseCacheControl& cc,
                                                const Response& response, absl::Time response_time);

// corrected_initial_age = max(apparent_age, Age + response_delay) (section 4.2.3). An Age that
// is not a non-negative integer counts as 0; values clamp to 2^31 s.
absl::Duration CorrectedInitialAge(const Response& response, absl::Time request_time,
                                   absl::Time response_time);

// The freshness of `response` under `policy` (see FreshnessSource). Under kResponse, a response
// stating no lifetime and with no heuristic one gets RoutePolicy::response_default_ttl when set
// and MayAssignLifetime. Always capped at the ttl.
Freshness ComputeFreshness(const Response& response, const RoutePolicy& policy,
                           absl::Time request_time, absl::Time response_time);

// The longest stale window a response's own Cache-Control may give it: 24 h, or the route's
// longest window when that is longer.
inline constexpr absl::Duration kMaxResponseStaleWindow = absl::Hours(24);
absl::Duration MaxResponseStaleWindow(const RoutePolicy& policy);

// The stale windows of a stored response whose Cache-Control is `cc`: none when it may never be
// served stale (must-revalidate, proxy-revalidate, no-cache); under kResponse, each window it
// states (stale-while-revalidate=N, stale-if-error=N, RFC 5861) replaces the route's, capped at
// MaxResponseStaleWindow; otherwise the route's. O(1).
StaleWindows StoredStaleWindows(const RoutePolicy& policy, const ResponseCacheControl& cc);

// How long larder keeps `record` stored at `now`: what remains of its freshness, plus the
// longest of its stale windows and, when it has a validator (ETag or Last-Modified), one more
// ttl in which it can be revalidated instead of rendered in full. At most
// ttl + max(ttl, MaxResponseStaleWindow(policy)). O(Cache-Control bytes).
absl::Duration KeepFor(const StoredResponse& record, const RoutePolicy& policy, absl::Time now);

// The decision on `stored` (null when nothing is stored): Decide with its StoredStaleWindows,
// corrected by ApplyStoredDirectives. O(request and Cache-Control bytes).
Decision DecideStored(const Request& request, const RoutePolicy& policy,
                      const StoredResponse* stored, absl::Time now);

// A decision made on `stored`, corrected by its own directives: must-revalidate or
// proxy-revalidate forbid serving it stale (no stale-while-revalidate, no stale-if-error);
// no-cache forbids serving it at all without revalidation: a serve, not-modified or stale
// decision becomes a miss, which the pipeline answers by revalidating the stored response
// (render.h), and no decision keeps stale-if-error. The miss is stored (GET), coalesced and
// forwarded as stale. O(Cache-Control bytes).
Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const StoredResponse& stored);
// The same with the stored response's Cache-Control already parsed.
Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const ResponseCacheControl& stored);

}  // namespace larder::http::internal

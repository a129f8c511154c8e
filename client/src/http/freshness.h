// Freshness of a response this layer is about to store (RFC 9111 section 4.2): its lifetime
// from the route's policy or from the response itself, and its corrected initial age (section
// 4.2.3) from the upstream's Age and Date, plus the rules a stored response's own directives
// impose on a decision (must-revalidate, proxy-revalidate, no-cache).
// A no-cache response (RFC 9111 section 5.2.2.4) with a validator is stored, but every use of it
// is a revalidation; without a validator it is not stored at all.
//
//   Freshness f = ComputeFreshness(response, policy, request_time, response_time);
//   if (f.storable) { meta.stored_at = response_time - f.corrected_initial_age;
//                     meta.fresh_until = meta.stored_at + f.lifetime; }
//   decision = ApplyStoredDirectives(decision, request, stored);
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

// 10% of Date - Last-Modified for the heuristically cacheable statuses (section 4.2.2) with a
// valid Last-Modified; nullopt otherwise.
std::optional<absl::Duration> HeuristicLifetime(const Response& response, absl::Time response_time);

// corrected_initial_age = max(apparent_age, Age + response_delay) (section 4.2.3). An Age that
// is not a non-negative integer counts as 0; values clamp to 2^31 s.
absl::Duration CorrectedInitialAge(const Response& response, absl::Time request_time,
                                   absl::Time response_time);

// The freshness of `response` under `policy` (see FreshnessSource).
Freshness ComputeFreshness(const Response& response, const RoutePolicy& policy,
                           absl::Time request_time, absl::Time response_time);

// A decision made on `stored`, corrected by its own directives: must-revalidate or
// proxy-revalidate forbid serving it stale (no stale-while-revalidate, no stale-if-error);
// no-cache forbids serving it at all without revalidation: a serve, not-modified or stale
// decision becomes a miss, which the pipeline answers by revalidating the stored response
// (render.h), and no decision keeps stale-if-error. The miss is stored (GET), coalesced and
// forwarded as stale. O(Cache-Control bytes).
Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const StoredResponse& stored);

}  // namespace larder::http::internal

// FleetLease: fleet-wide single flight for one pure miss of the HTTP layer (docs/http.md,
// "Fleet-wide single flight"). It asks the ResponseStore for the lease of the route's base key;
// while another process holds it, it polls the lease again after 5 ms, doubling to 100 ms
// (+-20%), on a WaitClock for at most the route's lease_wait, until the holder's response is
// stored (kLookup), the lease comes to this caller, or the wait ends (render without a lease).
// While a near-cache Watch stream of the namespace is live in the process, a change of the key
// (or of the namespace) ends a pause at once and the fallback pauses grow to 500 ms (LeaseWait,
// client/src/key_waiters.h).
// A granted token that no store used is released when the FleetLease is destroyed, so waiters
// elsewhere need not wait for it to expire (a render that failed or was not storable).
//
//   internal::FleetLease lease(store, policy.cache_namespace, key);
//   if (lease.Acquire(policy.lease_wait, wait_clock, metrics, route) == Outcome::kLookup) …
//   lease.Settle();  // before StoreVariant(…, lease.token())
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/response_store.h"
#include "larder/wait_clock.h"

namespace larder::http::internal {

class HttpMetrics;

// One miss of one request: not shared between threads.
class FleetLease {
 public:
  enum class Outcome {
    kRender,  // Render; store with token() (empty: no lease, store as usual).
    kLookup,  // A response is stored under the key (the holder's, or another variant's).
  };

  FleetLease(ResponseStore& store, std::string cache_namespace, std::string key);
  ~FleetLease();
  FleetLease(const FleetLease&) = delete;
  FleetLease& operator=(const FleetLease&) = delete;

  // Takes or waits for the key's lease (lease_ttl: lease_wait, at most 60 s). Counts
  // larder_http_leases_total{result=granted|waited|wait_timeout}. A store error, or a store
  // without leases, is kRender without a token. Blocks at most lease_wait plus one store call.
  Outcome Acquire(absl::Duration lease_wait, const WaitClock& clock, HttpMetrics& metrics,
                  absl::string_view route);

  // Whether Acquire waited for another holder.
  bool waited() const { return waited_; }
  // The granted lease's token; empty without one.
  const std::string& token() const { return token_; }
  // The token went to a store (accepted or refused): nothing left to release.
  void Settle() { settled_ = true; }

 private:
  StoreLease Ask(absl::Duration lease_ttl);
  StoreLease AwaitHolder(absl::Duration lease_wait, absl::Duration lease_ttl,
                         const WaitClock& clock, HttpMetrics& metrics, absl::string_view route);

  ResponseStore& store_;
  const std::string cache_namespace_;
  const std::string key_;
  std::string token_;
  bool waited_ = false;
  bool settled_ = false;
};

}  // namespace larder::http::internal

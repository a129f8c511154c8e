#include "client/src/http/fleet_lease.h"

#include <algorithm>
#include <utility>

#include "client/src/http/http_metrics.h"
#include "client/src/key_waiters.h"
#include "larder/client_options.h"
#include "larder/common/limits.h"

namespace larder::http::internal {
namespace {

constexpr absl::Duration kMaxLeaseTtl = absl::Milliseconds(limits::kMaxLeaseTtlMillis);

}  // namespace

FleetLease::FleetLease(ResponseStore& store, std::string cache_namespace, std::string key)
    : store_(store), cache_namespace_(std::move(cache_namespace)), key_(std::move(key)) {}

FleetLease::~FleetLease() {
  // Best effort: a lease not released expires after its lease_ttl.
  if (!token_.empty() && !settled_) (void)store_.ReleaseLease(cache_namespace_, key_, token_);
}

FleetLease::Outcome FleetLease::Acquire(absl::Duration lease_wait, const WaitClock& clock,
                                        HttpMetrics& metrics, absl::string_view route) {
  const absl::Duration lease_ttl = std::min(lease_wait, kMaxLeaseTtl);
  StoreLease lease = Ask(lease_ttl);
  if (lease.state == StoreLease::State::kWait) {
    lease = AwaitHolder(lease_wait, lease_ttl, clock, metrics, route);
  }
  switch (lease.state) {
    case StoreLease::State::kGranted:
      metrics.CountLease(route, "granted");
      token_ = std::move(lease.token);
      return Outcome::kRender;
    case StoreLease::State::kLive:
      return Outcome::kLookup;
    case StoreLease::State::kWait:
    case StoreLease::State::kNone:
      break;
  }
  return Outcome::kRender;
}

StoreLease FleetLease::Ask(absl::Duration lease_ttl) {
  absl::StatusOr<StoreLease> lease = store_.Lease(cache_namespace_, key_, lease_ttl);
  // A failing store: render as without leases (its Store will likely fail and be counted).
  if (!lease.ok()) return StoreLease{};
  if (lease->state == StoreLease::State::kGranted && lease->token.empty()) return StoreLease{};
  return *std::move(lease);
}

StoreLease FleetLease::AwaitHolder(absl::Duration lease_wait, absl::Duration lease_ttl,
                                   const WaitClock& clock, HttpMetrics& metrics,
                                   absl::string_view route) {
  waited_ = true;
  metrics.CountLease(route, "waited");
  const absl::Time give_up = clock.Now() + lease_wait;
  // The store's client is unknown here: any near-cache stream of the namespace may wake it.
  client::internal::LeaseWait wait(client::internal::KeyWaiters::Process(), cache_namespace_, key_,
                                   /*watchable=*/true, clock);
  for (int poll = 1;; ++poll) {
    const absl::Duration left = give_up - clock.Now();
    if (left <= absl::ZeroDuration()) {
      metrics.CountLease(route, "wait_timeout");
      return StoreLease{};
    }
    wait.Pause(poll, left);
    StoreLease lease = Ask(lease_ttl);
    if (lease.state != StoreLease::State::kWait) return lease;
  }
}

}  // namespace larder::http::internal

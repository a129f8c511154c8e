// The HTTP layer's fleet lease (FleetLease) woken by the near cache's Watch stream against a
// real larderd: its ResponseStore is over a client that near-caches the namespace, another client
// holds the key's lease and stores while the FleetLease waits on a clock whose waits never end by
// themselves; it finds the stored response after exactly one more Lease poll.
#include <memory>
#include <string>

#include "client/src/http/fleet_lease.h"
#include "client/src/http/http_metrics.h"
#include "larder/http/larder_response_store.h"
#include "tests/client/lease_watch_e2e_fixture.h"

namespace larder {
namespace {

using ::larder::http::internal::FleetLease;
using ::larder::http::internal::HttpMetrics;
using ::larder::testing::LeaseWatchE2eTest;

TEST_F(LeaseWatchE2eTest, AnHttpWaiterFindsTheHoldersResponseOnePollAfterItsStore) {
  const std::string key = "GET /items/1";
  ASSERT_OK_AND_ASSIGN(LeaseResult held, client_->Lease("fleet", key, absl::Seconds(30)));
  ASSERT_FALSE(held.token.empty());
  std::shared_ptr<http::ResponseStore> store = http::NewLarderResponseStore(waiter_);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpMetrics> metrics,
                       HttpMetrics::Create(std::make_shared<prometheus::Registry>()));
  wait_clock_.set_on_wait([&](int waits) {
    if (waits != 1) return;
    SetOptions leased;
    leased.lease_token = held.token;
    ASSERT_OK_AND_ASSIGN(SetResult set, client_->Set("fleet", key, "the holder's render", leased));
    EXPECT_TRUE(set.stored);
  });
  FleetLease lease(*store, "fleet", key);
  EXPECT_EQ(lease.Acquire(absl::Seconds(30), wait_clock_, *metrics, "items"),
            FleetLease::Outcome::kLookup);
  EXPECT_TRUE(lease.waited());
  EXPECT_TRUE(lease.token().empty());
  EXPECT_EQ(WaiterLeasePolls(), 2);  // The Lease that answered wait, and one on the event.
  EXPECT_EQ(wait_clock_.woken(), 1);
  EXPECT_EQ(wait_clock_.sleeps(), 0);
}

}  // namespace
}  // namespace larder

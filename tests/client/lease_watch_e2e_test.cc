// A larder::Cached waiter woken by its near cache's Watch stream against a real larderd: the
// holder (another client, standing for another process) stores while the waiter waits on a
// clock whose waits never end by themselves, and the waiter returns the holder's value after
// exactly one more Lease poll. Without the event it would wait out its patience and compute.
#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "larder/cached.h"
#include "tests/client/lease_watch_e2e_fixture.h"

namespace larder {
namespace {

using ::larder::testing::LeaseWatchE2eTest;
using ::larder::testing::MetricValue;

CachedOptions FleetOptions() {
  CachedOptions options;
  options.namespace_name = "fleet";
  options.function_name = "load";
  options.ttl = absl::Hours(1);
  options.lease_wait = absl::Seconds(30);
  return options;
}

TEST_F(LeaseWatchE2eTest, ACachedWaiterSeesTheHoldersValueOnePollAfterItsStore) {
  absl::Notification holding, waiter_waits;
  auto holder = Cached<std::string(int)>(client_, FleetOptions(), [&](int) {
    holding.Notify();
    // Bounded: a waiter that never waits on the stream fails the test instead of hanging it.
    EXPECT_TRUE(waiter_waits.WaitForNotificationWithTimeout(absl::Seconds(60)));
    return std::string("computed once");
  });
  CachedOptions waiting = FleetOptions();
  waiting.wait_clock = &wait_clock_;
  std::atomic<int> waiter_runs{0};
  auto waiter = Cached<std::string(int)>(waiter_, waiting, [&](int) {
    ++waiter_runs;
    return std::string("computed twice");
  });
  double polls_before_the_store = -1;
  wait_clock_.set_on_wait([&](int waits) {
    if (waits != 1) return;
    polls_before_the_store = WaiterLeasePolls();
    waiter_waits.Notify();  // The holder returns and stores, with its token.
  });
  std::thread holding_process([&] { EXPECT_EQ(holder(1), "computed once"); });
  holding.WaitForNotification();
  EXPECT_EQ(waiter(1), "computed once");
  holding_process.join();

  EXPECT_EQ(waiter_runs.load(), 0);
  EXPECT_EQ(polls_before_the_store, 1);  // The Lease that answered wait.
  EXPECT_EQ(WaiterLeasePolls(), 2);      // One poll after the holder stored: on its event.
  EXPECT_EQ(wait_clock_.waits(), 1);
  EXPECT_EQ(wait_clock_.woken(), 1);
  EXPECT_EQ(wait_clock_.sleeps(), 0);
  EXPECT_EQ(WaiterLeases("waited"), 1);
  EXPECT_EQ(WaiterLeases("woken_by_watch"), 1);
  EXPECT_EQ(WaiterLeases("wait_timeout"), 0);
  EXPECT_EQ(MetricValue(*waiter_registry_, "larder_client_requests_total",
                        {{"namespace", "fleet"}, {"result", "hit"}}),
            1);
}

TEST_F(LeaseWatchE2eTest, AnInvalidationWakesTheWaiterWhichTakesTheVoidedLease) {
  CachedOptions waiting = FleetOptions();
  waiting.wait_clock = &wait_clock_;
  auto waiter = Cached<std::string(int)>(waiter_, waiting, [](int) { return std::string("mine"); });
  const std::string key = *waiter.KeyFor(1);
  // The holder: a caller that leased the key and has not stored yet.
  ASSERT_OK_AND_ASSIGN(LeaseResult held, client_->Lease("fleet", key, absl::Seconds(30)));
  ASSERT_FALSE(held.token.empty());
  wait_clock_.set_on_wait([&](int waits) {
    // Any invalidation of the namespace voids its leases, and its event reaches the waiter.
    if (waits != 1) return;
    ASSERT_OK(client_->Invalidate("fleet", InvalidateTarget::Prefix("x")).status());
  });
  EXPECT_EQ(waiter(1), "mine");
  EXPECT_EQ(WaiterLeasePolls(), 2);
  EXPECT_EQ(wait_clock_.woken(), 1);
  EXPECT_EQ(wait_clock_.sleeps(), 0);
  EXPECT_EQ(WaiterLeases("granted"), 1);  // Its own lease, on the poll the event caused.
  EXPECT_EQ(WaiterLeases("woken_by_watch"), 1);
  SetOptions late;
  late.lease_token = held.token;
  ASSERT_OK_AND_ASSIGN(SetResult refused, client_->Set("fleet", key, "late", late));
  EXPECT_FALSE(refused.stored);
}

}  // namespace
}  // namespace larder

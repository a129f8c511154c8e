// Fleet-wide single flight of larder::Cached against a real larderd: two cached functions on
// two separate Clients stand for two processes sharing one key. Waits are paced by a
// FakeWaitClock whose hook lets the other "process" act, so nothing sleeps or races the clock.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "larder/cached.h"
#include "tests/client/client_fixture.h"
#include "tests/client/fake_wait_clock.h"
#include "tests/client/metrics_reader.h"

namespace larder {
namespace {

using ::larder::testing::FakeWaitClock;
using ::larder::testing::LarderdClientTest;
using ::larder::testing::MetricValue;
using ::testing::IsEmpty;

// One "process": its own Client and metrics registry.
struct Process {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Client> client;

  double Leases(const std::string& result) const {
    return MetricValue(*registry, "larder_client_leases_total",
                       {{"namespace", "fleet"}, {"result", result}});
  }
  double Requests(const std::string& result) const {
    return MetricValue(*registry, "larder_client_requests_total",
                       {{"namespace", "fleet"}, {"result", result}});
  }
};

class CachedLeaseTest : public LarderdClientTest {
 protected:
  void SetUp() override {
    LarderdClientTest::SetUp();
    for (Process* process : {&first_, &second_}) {
      ClientOptions options = OptionsFor(server_->grpc_address());
      options.metrics_registry = process->registry;
      process->client = NewClient(options);
    }
  }

  CachedOptions Options() {
    CachedOptions options;
    options.namespace_name = "fleet";
    options.function_name = "load";
    options.ttl = absl::Hours(1);
    options.wait_clock = &wait_clock_;
    return options;
  }

  // A cached function std::string(int) of `process` running `run`.
  template <typename Fn>
  auto In(const Process& process, Fn run, CachedOptions options) {
    return Cached<std::string(int)>(process.client, std::move(options), std::move(run));
  }

  FakeWaitClock wait_clock_;
  Process first_;
  Process second_;
};

TEST_F(CachedLeaseTest, TheFunctionRunsOnceAcrossProcessesWhileTheOtherWaits) {
  absl::Notification holding, second_waits, first_done;
  std::atomic<int> second_runs{0};
  auto first = In(
      first_,
      [&](int) {
        holding.Notify();
        second_waits.WaitForNotification();
        return std::string("computed once");
      },
      Options());
  auto second = In(
      second_,
      [&](int) {
        ++second_runs;
        return std::string("computed twice");
      },
      Options());
  // The waiter's first pause lets the holder finish and store before it polls again.
  wait_clock_.set_on_sleep([&](int pause) {
    if (pause != 1) return;
    second_waits.Notify();
    first_done.WaitForNotification();
  });
  std::thread holder([&] {
    EXPECT_EQ(first(1), "computed once");
    first_done.Notify();
  });
  holding.WaitForNotification();
  EXPECT_EQ(second(1), "computed once");
  holder.join();
  EXPECT_EQ(second_runs.load(), 0);
  EXPECT_EQ(first_.Leases("granted"), 1);
  EXPECT_EQ(first_.Requests("miss"), 1);
  EXPECT_EQ(second_.Leases("waited"), 1);
  EXPECT_EQ(second_.Requests("hit"), 1);
}

TEST_F(CachedLeaseTest, AWaiterServesTheValueKeptFromBeforeWhileTheHolderRecomputes) {
  std::atomic<int> version{0};
  absl::Notification recomputing, release;
  auto first = In(
      first_,
      [&](int) {
        if (++version == 2) {
          recomputing.Notify();
          release.WaitForNotification();
        }
        return "v" + std::to_string(version.load());
      },
      Options());
  auto second = In(
      second_, [](int) { return std::string("never"); }, Options());
  EXPECT_EQ(first(1), "v1");  // Stored with a lease: larderd keeps it after a removal.
  ASSERT_OK(first.Invalidate(1));
  std::thread holder([&] { EXPECT_EQ(first(1), "v2"); });
  recomputing.WaitForNotification();
  EXPECT_EQ(second(1), "v1");  // At once, without polling.
  EXPECT_THAT(wait_clock_.pauses(), IsEmpty());
  release.Notify();
  holder.join();
  EXPECT_EQ(second(1), "v2");
  EXPECT_EQ(second_.Leases("served_stale"), 1);
  EXPECT_EQ(second_.Requests("stale"), 1);
}

TEST_F(CachedLeaseTest, AValueComputedBeforeAnInvalidationIsReturnedButNotStored) {
  std::atomic<int> runs{0};
  absl::Notification computing, release;
  auto load = In(
      first_,
      [&](int) {
        if (++runs == 1) {
          computing.Notify();
          release.WaitForNotification();
          return std::string("read before the update");
        }
        return std::string("read after the update");
      },
      Options());
  std::thread slow([&] { EXPECT_EQ(load(7), "read before the update"); });
  computing.WaitForNotification();
  // A writer updated the data and invalidated: the slow miss must not store its old read.
  ASSERT_OK(client_->Invalidate("fleet", InvalidateTarget::Prefix("load:")).status());
  release.Notify();
  slow.join();
  EXPECT_FALSE(client_->Get("fleet", *load.KeyFor(7))->found);
  EXPECT_EQ(first_.Leases("stale_set_prevented"), 1);
  EXPECT_EQ(first_.Requests("error"), 0);
  EXPECT_EQ(load(7), "read after the update");
  EXPECT_EQ(load(7), "read after the update");
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(CachedLeaseTest, AfterLeaseWaitTheWaiterComputesAndTheHoldersLateStoreIsRefused) {
  absl::Notification holding, release;
  auto first = In(
      first_,
      [&](int) {
        holding.Notify();
        release.WaitForNotification();
        return std::string("late");
      },
      Options());
  CachedOptions impatient = Options();
  impatient.lease_wait = absl::Milliseconds(300);
  auto second = In(
      second_, [](int) { return std::string("fail-open"); }, impatient);
  std::thread holder([&] { EXPECT_EQ(first(1), "late"); });
  holding.WaitForNotification();
  EXPECT_EQ(second(1), "fail-open");
  EXPECT_EQ(wait_clock_.slept(), absl::Milliseconds(300));
  EXPECT_EQ(second_.Leases("wait_timeout"), 1);
  release.Notify();
  holder.join();
  EXPECT_EQ(first_.Leases("stale_set_prevented"), 1);  // The waiter's store voided the lease.
  EXPECT_EQ(second(1), "fail-open");                   // What the waiter stored.
}

TEST_F(CachedLeaseTest, ConcurrentCallsOfOneProcessShareOneLease) {
  constexpr int kThreads = 6;
  std::atomic<int> runs{0};
  absl::Notification release;
  auto load = In(
      first_,
      [&](int) {
        ++runs;
        release.WaitForNotification();
        return std::string("shared");
      },
      Options());
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back([&] { EXPECT_EQ(load(3), "shared"); });
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (MetricValue(*first_.registry, "larder_client_singleflight_waits_total", {}) <
             kThreads - 1 &&
         absl::Now() < give_up) {
    std::this_thread::yield();
  }
  release.Notify();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(MetricValue(*first_.registry, "larder_client_rpcs_total",
                        {{"method", "Lease"}, {"code", "OK"}}),
            1);
}

}  // namespace
}  // namespace larder

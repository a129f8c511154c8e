// A larder::Cached waiter woken by the near cache's Watch stream instead of its next poll, against
// a larder.v1.Cache in this process (FakeLarder) that plays back scripted Lease answers and
// carries the Watch events the test publishes, with a FakeWaitClock: a wait's hook publishes the
// event and lets the client deliver it, so no pause ever passes in real time and the order of
// polls and events is fixed.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "client/src/envelope.h"
#include "client/src/key_waiters.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/fake_larder.h"
#include "tests/client/fake_wait_clock.h"
#include "tests/client/metrics_reader.h"

namespace larder {
namespace {

using ::larder::client::internal::KeyWaiters;
using ::larder::client::internal::WrapEnvelope;
using ::larder::testing::FakeLarder;
using ::larder::testing::FakeWaitClock;
using ::larder::testing::MetricValue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Real time allowed for the client to receive an event the fake sent (never spent when it works).
constexpr absl::Duration kPatience = absl::Seconds(30);

v1::LeaseResponse WaitAnswer() {
  v1::LeaseResponse answer;
  answer.set_wait(true);
  return answer;
}

v1::LeaseResponse TokenAnswer(const std::string& token) {
  v1::LeaseResponse answer;
  answer.set_lease_token(token);
  return answer;
}

v1::LeaseResponse EntryAnswer(const std::string& value) {
  v1::LeaseResponse answer;
  answer.mutable_entry()->set_found(true);
  answer.mutable_entry()->set_value(WrapEnvelope(std::nullopt, value));
  return answer;
}

v1::WatchEvent KeyEvent(const std::string& key) {
  v1::WatchEvent event;
  event.set_key(key);
  return event;
}

v1::WatchEvent PrefixEvent(const std::string& prefix) {
  v1::WatchEvent event;
  event.set_prefix(prefix);
  return event;
}

// A pause of `base` +-20% (the backoffs' jitter).
MATCHER_P(About, base, "") { return arg >= base * 0.8 && arg <= base * 1.2; }

class CachedLeaseWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientOptions options;
    options.target = larder_.address();
    options.deadline = absl::Seconds(5);
    options.metrics_registry = registry_;
    options.near_cache.namespaces = {"watched"};
    client_ = *Client::Create(options);
    // The stream's `reset` makes the namespace live.
    const absl::Time give_up = absl::Now() + kPatience;
    while (!KeyWaiters::Process().Watched("watched") && absl::Now() < give_up) {
      std::this_thread::yield();
    }
    ASSERT_TRUE(KeyWaiters::Process().Watched("watched"));
  }

  auto Load(const std::string& ns) {
    CachedOptions options;
    options.namespace_name = ns;
    options.function_name = "load";
    options.ttl = absl::Hours(1);
    options.wait_clock = &wait_clock_;
    return Cached(client_, options, [this](int) {
      ++runs_;
      return std::string("computed");
    });
  }

  // On the waiter's wait number `wait`, publishes `event` and waits until the client has
  // delivered it to the waiter.
  void PublishOnWait(int wait, v1::WatchEvent event) {
    wait_clock_.set_on_wait([this, wait, event](int n, const WaitSignal& signal) {
      if (n != wait) return;
      larder_.PublishWatchEvent("watched", event);
      EXPECT_TRUE(signal.WaitWithTimeout(kPatience));
    });
  }

  double Leases(const std::string& ns, const std::string& result) const {
    return MetricValue(*registry_, "larder_client_leases_total",
                       {{"namespace", ns}, {"result", result}});
  }

  FakeLarder larder_;  // First: outlives the client.
  FakeWaitClock wait_clock_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Client> client_;
  std::atomic<int> runs_{0};
};

TEST_F(CachedLeaseWatchTest, TheHoldersStoreWakesTheWaiterInsteadOfItsPoll) {
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer(), EntryAnswer("the holder's")});
  auto load = Load("watched");
  // Wait 1 is the short one after registering; during wait 2 the holder stores.
  PublishOnWait(2, KeyEvent(*load.KeyFor(1)));
  EXPECT_EQ(load(1), "the holder's");
  EXPECT_EQ(runs_.load(), 0);
  EXPECT_EQ(larder_.lease_requests().size(), 3u);  // The first, one poll, one on the event.
  EXPECT_EQ(wait_clock_.waits(), 2);
  EXPECT_EQ(wait_clock_.woken(), 1);
  EXPECT_THAT(wait_clock_.pauses(), ElementsAre(About(absl::Milliseconds(5))));  // Wait 1 only.
  EXPECT_EQ(Leases("watched", "waited"), 1);
  EXPECT_EQ(Leases("watched", "woken_by_watch"), 1);
  EXPECT_EQ(KeyWaiters::Process().waiting(), 0);  // Unregistered when the call ended.
}

TEST_F(CachedLeaseWatchTest, ANamespaceInvalidationWakesTheWaiterWhichTakesTheLease) {
  // Any invalidation voids the namespace's leases: the waiter gets its own at once.
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer(), TokenAnswer("mine")});
  auto load = Load("watched");
  PublishOnWait(2, PrefixEvent("unrelated:"));
  EXPECT_EQ(load(1), "computed");
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("mine"));
  EXPECT_EQ(wait_clock_.woken(), 1);
  EXPECT_EQ(Leases("watched", "woken_by_watch"), 1);
  EXPECT_EQ(Leases("watched", "granted"), 1);
}

TEST_F(CachedLeaseWatchTest, TheEndOfTheStreamWakesTheWaiter) {
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer(), EntryAnswer("v")});
  auto load = Load("watched");
  wait_clock_.set_on_wait([this](int n, const WaitSignal& signal) {
    if (n != 2) return;
    larder_.EndWatches(grpc::Status(grpc::StatusCode::UNAVAILABLE, "change feed lost"));
    EXPECT_TRUE(signal.WaitWithTimeout(kPatience));
  });
  EXPECT_EQ(load(1), "v");
  EXPECT_EQ(larder_.lease_requests().size(), 3u);
  EXPECT_EQ(wait_clock_.woken(), 1);
}

TEST_F(CachedLeaseWatchTest, WithoutEventsTheFallbackPollsAreLonger) {
  larder_.ScriptLeases(
      {WaitAnswer(), WaitAnswer(), WaitAnswer(), WaitAnswer(), EntryAnswer("polled")});
  EXPECT_EQ(Load("watched")(1), "polled");
  EXPECT_EQ(wait_clock_.woken(), 0);
  EXPECT_THAT(wait_clock_.pauses(),
              ElementsAre(About(absl::Milliseconds(5)), About(absl::Milliseconds(100)),
                          About(absl::Milliseconds(200)), About(absl::Milliseconds(400))));
  EXPECT_EQ(Leases("watched", "woken_by_watch"), 0);
}

TEST_F(CachedLeaseWatchTest, ANamespaceWithoutAStreamIsPolledAsBefore) {
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer(), EntryAnswer("polled")});
  EXPECT_EQ(Load("unwatched")(1), "polled");
  EXPECT_EQ(wait_clock_.waits(), 0);  // Slept, never waited on a signal.
  EXPECT_THAT(wait_clock_.pauses(),
              ElementsAre(About(absl::Milliseconds(5)), About(absl::Milliseconds(10))));
  EXPECT_EQ(KeyWaiters::Process().waiting(), 0);
  EXPECT_EQ(Leases("unwatched", "woken_by_watch"), 0);
}

}  // namespace
}  // namespace larder

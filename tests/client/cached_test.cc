// larder::Cached against a real larderd: hits and misses, TTLs, invalidation, single-flight,
// fail-open, stale-while-revalidate on a FakeClock, exceptions, and undecodable values.
#include "larder/cached.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/client/client_fixture.h"
#include "tests/testing/captured_log.h"
#include "tests/testing/fake_clock.h"

namespace larder {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::IsOkAndHolds;
using ::larder::testing::LarderdClientTest;
using ::larder::testing::SilentListener;

class CachedTest : public LarderdClientTest {
 protected:
  CachedOptions Options(absl::string_view name) const {
    CachedOptions options;
    options.namespace_name = "cached";
    options.function_name = std::string(name);
    options.ttl = absl::Hours(1);
    return options;
  }

  double Requests(absl::string_view result) const {
    return Metric("larder_client_requests_total",
                  {{"namespace", "cached"}, {"result", std::string(result)}});
  }

  // Waits (bounded) until `name` reaches `value`.
  void AwaitMetric(const std::string& name, double value) const {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (Metric(name, {}) < value && absl::Now() < give_up) std::this_thread::yield();
    ASSERT_GE(Metric(name, {}), value);
  }
};

TEST_F(CachedTest, MissStoresThenHitServesWithoutCalling) {
  std::atomic<int> calls{0};
  auto square = Cached(client_, Options("square"), [&calls](int64_t x) {
    ++calls;
    return x * x;
  });
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(square(8), 64);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(Requests("miss"), 2);
  EXPECT_EQ(Requests("hit"), 1);
  // Stored where MakeKey says, so a writer can find it.
  EXPECT_TRUE(client_->Get("cached", *MakeKey("square", 7))->found);
}

TEST_F(CachedTest, StoresWithTheTtlPlusTheStaleWindow) {
  CachedOptions options = Options("ttl");
  options.ttl = absl::Minutes(10);
  options.stale_while_revalidate = absl::Minutes(5);
  auto identity = Cached(client_, options, [](const std::string& s) { return s; });
  identity("x");
  ASSERT_OK_AND_ASSIGN(GetResult stored, client_->Get("cached", *identity.KeyFor("x")));
  ASSERT_TRUE(stored.ttl.has_value());
  EXPECT_GT(*stored.ttl, absl::Minutes(14));
  EXPECT_LE(*stored.ttl, absl::Minutes(15));
}

TEST_F(CachedTest, InvalidateAndTagsRemoveResults) {
  std::atomic<int> calls{0};
  CachedOptions options = Options("tagged");
  options.tags = {"catalog"};
  auto price = Cached(client_, options, [&calls](const std::string&) {
    ++calls;
    return 10;
  });
  price("a");
  price("b");
  ASSERT_OK(price.Invalidate("a"));
  price("a");
  price("b");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_THAT(client_->Invalidate("cached", InvalidateTarget::Tag("catalog")), IsOkAndHolds(2));
  price("b");
  EXPECT_EQ(calls.load(), 4);
}

TEST_F(CachedTest, ConcurrentMissesCallTheFunctionOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> calls{0};
  auto slow = Cached(client_, Options("slow"), [&](int x) {
    ++calls;
    // Hold the result until every other caller is waiting on this call.
    AwaitMetric("larder_client_singleflight_waits_total", kThreads - 1);
    return x + 1;
  });
  std::vector<std::thread> threads;
  std::vector<int> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = slow(41); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls.load(), 1);
  for (int result : results) EXPECT_EQ(result, 42);
  EXPECT_EQ(Requests("miss"), kThreads);
}

TEST_F(CachedTest, FailsOpenWhenTheServerIsStopped) {
  std::atomic<int> calls{0};
  auto twice = Cached(client_, Options("twice"), [&calls](int x) {
    ++calls;
    return 2 * x;
  });
  server_->process().Stop();
  EXPECT_EQ(twice(4), 8);
  EXPECT_EQ(twice(4), 8);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(Requests("error"), 2);
}

TEST_F(CachedTest, FailsOpenWithinTheDeadlineWhenNoConnectionIsServed) {
  SilentListener silent;
  ClientOptions options = OptionsFor(silent.address());
  options.deadline = absl::Milliseconds(50);
  auto twice = Cached(NewClient(options), Options("twice"), [](int x) { return 2 * x; });
  const absl::Time start = absl::Now();
  EXPECT_EQ(twice(5), 10);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(Requests("error"), 1);
}

TEST_F(CachedTest, ServesStaleWhileOneCallerRefreshes) {
  FakeClock clock;
  ClientOptions client_options = OptionsFor(server_->grpc_address());
  client_options.clock = &clock;
  CachedOptions options = Options("stale");
  options.ttl = absl::Seconds(10);
  options.stale_while_revalidate = absl::Minutes(1);
  std::atomic<int> version{0};
  absl::Notification refreshing;
  absl::Notification release;
  auto current = Cached(NewClient(client_options), options, [&](int) {
    if (++version == 2) {
      refreshing.Notify();
      release.WaitForNotification();
    }
    return version.load();
  });
  EXPECT_EQ(current(0), 1);
  clock.Advance(absl::Seconds(11));  // Past the TTL, inside the stale window.
  int refreshed = 0;
  std::thread refresher([&] { refreshed = current(0); });
  refreshing.WaitForNotification();
  EXPECT_EQ(current(0), 1);  // Stale, at once, while the refresh is held.
  release.Notify();
  refresher.join();
  EXPECT_EQ(refreshed, 2);
  EXPECT_EQ(current(0), 2);  // Fresh again.
  EXPECT_EQ(Requests("stale"), 2);
  clock.Advance(absl::Seconds(10) + absl::Minutes(1));  // Past the stale window: a miss.
  EXPECT_EQ(current(0), 3);
}

TEST_F(CachedTest, ExceptionsPropagateAndAreNeverCached) {
  std::atomic<int> calls{0};
  auto flaky = Cached(client_, Options("flaky"), [&calls](int x) {
    if (++calls == 1) throw std::runtime_error("backend down");
    return x;
  });
  EXPECT_THROW(flaky(1), std::runtime_error);
  EXPECT_EQ(flaky(1), 1);
  EXPECT_EQ(flaky(1), 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(CachedTest, AnUndecodableValueIsAMissCountedAndLogged) {
  testing::CapturedLog log;
  std::atomic<int> calls{0};
  auto name = Cached(client_, Options("name"), [&calls](int) {
    ++calls;
    return std::string("Ada");
  });
  ASSERT_OK(client_->Set("cached", *name.KeyFor(1), "not an envelope").status());
  EXPECT_EQ(name(1), "Ada");
  EXPECT_EQ(Metric("larder_client_coder_errors_total", {}), 1);
  EXPECT_EQ(name(1), "Ada");
  EXPECT_EQ(calls.load(), 1);  // The miss stored a good value; the second call hit.
  EXPECT_THAT(
      log.lines(),
      ::testing::ElementsAre(::testing::HasSubstr(
          "cached function name in namespace cached: a stored value could not be decoded")));
}

TEST_F(CachedTest, DisabledCallsStraightThrough) {
  CachedOptions options = Options("off");
  options.enabled = false;
  std::atomic<int> calls{0};
  auto off = Cached(client_, options, [&calls](int x) {
    ++calls;
    return x;
  });
  off(1);
  off(1);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_FALSE(client_->Get("cached", *off.KeyFor(1))->found);
}

}  // namespace
}  // namespace larder

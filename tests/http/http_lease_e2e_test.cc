// Fleet-wide single flight of the HTTP layer against a real larderd: two HttpCache instances,
// each with its own larder::Client (two replicas of a service), miss one URL together and the
// handler runs once; a render overtaken by another replica's invalidation is refused by
// larderd instead of stored.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "larder/http/http_cache.h"
#include "larder/http/larder_response_store.h"
#include "prometheus/registry.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/larderd_process.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One replica: its own client, registry and cache.
struct Replica {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<HttpCache> cache;

  double Leases(const std::string& result) const {
    return larder::testing::MetricValue(*registry, "larder_http_leases_total",
                                        {{"route", "items"}, {"result", result}});
  }
};

class HttpLeaseE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto larderd = larder::testing::LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = std::move(*larderd).release();
  }
  static void TearDownTestSuite() {
    delete larderd_;
    larderd_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(larderd_, nullptr);
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    policy_.cache_namespace = std::string(test->name()).substr(0, 60);
    policy_.route = "items";
    policy_.ttl = absl::Seconds(60);
    for (Replica* replica : {&a_, &b_}) {
      ClientOptions options;
      options.target = larderd_->grpc_address();
      options.deadline = absl::Seconds(5);
      auto client = Client::Create(options);
      ASSERT_TRUE(client.ok()) << client.status();
      HttpCacheOptions cache_options;
      cache_options.metrics_registry = replica->registry;
      auto cache = HttpCache::Create(NewLarderResponseStore(*std::move(client)), cache_options);
      ASSERT_TRUE(cache.ok()) << cache.status();
      replica->cache = *std::move(cache);
    }
  }

  static Request Get() {
    Request request;
    request.method = "GET";
    request.host = "example.com";
    request.path = "/items/1";
    return request;
  }
  // A request through `replica` whose render waits for `go` (when given).
  Response Send(Replica& replica, absl::Notification* go = nullptr) {
    auto handler = MakeRouteHandler(
        [this, go](const Request&) {
          const int render = ++renders_;
          if (go != nullptr) go->WaitForNotification();
          return Response{200, {}, absl::StrCat("{\"render\":", render, "}")};
        },
        Get());
    return replica.cache->Handle(Get(), policy_, *handler);
  }
  // Polls `condition` for up to 10 s.
  template <typename Condition>
  static bool Eventually(Condition condition) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!condition()) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  static larder::testing::LarderdProcess* larderd_;
  RoutePolicy policy_;
  Replica a_;
  Replica b_;
  std::atomic<int> renders_{0};
};

larder::testing::LarderdProcess* HttpLeaseE2eTest::larderd_ = nullptr;

TEST_F(HttpLeaseE2eTest, TwoReplicasMissingOneUrlRenderItOnce) {
  absl::Notification go;
  Response from_a;
  Response from_b;
  std::thread replica_a([&] { from_a = Send(a_, &go); });
  ASSERT_TRUE(Eventually([&] { return renders_.load() == 1; }));  // A holds the lease.
  std::thread replica_b([&] { from_b = Send(b_); });
  ASSERT_TRUE(Eventually([&] { return b_.Leases("waited") == 1; }));
  go.Notify();
  replica_a.join();
  replica_b.join();

  EXPECT_EQ(renders_.load(), 1);
  EXPECT_EQ(a_.Leases("granted"), 1);
  EXPECT_EQ(from_a.headers.Get("Cache-Status").value_or(""), "larder; fwd=uri-miss; stored");
  EXPECT_EQ(from_b.body, from_a.body);
  EXPECT_EQ(from_b.headers.Get("Cache-Status").value_or(""), "larder; fwd=uri-miss; collapsed");
  EXPECT_EQ(b_.Leases("wait_timeout"), -1);  // Never counted.
}

TEST_F(HttpLeaseE2eTest, RenderOvertakenByAnotherReplicasInvalidationIsNotStored) {
  absl::Notification go;
  Response from_a;
  std::thread replica_a([&] { from_a = Send(a_, &go); });
  ASSERT_TRUE(Eventually([&] { return renders_.load() == 1; }));  // A holds the lease.
  ASSERT_TRUE(b_.cache->InvalidatePath(policy_.cache_namespace, "/items/1").ok());
  go.Notify();
  replica_a.join();

  EXPECT_THAT(from_a.headers.Get("Cache-Status").value_or(""), Not(HasSubstr("stored")));
  EXPECT_EQ(a_.Leases("stale_set_prevented"), 1);
  Response next = Send(b_);
  EXPECT_EQ(renders_.load(), 2);  // Nothing was stored: the next request renders afresh.
  EXPECT_EQ(next.headers.Get("Cache-Status").value_or(""), "larder; fwd=uri-miss; stored");
}

}  // namespace
}  // namespace larder::http::testing

// Fleet-wide single flight of the HTTP layer over a store with scripted leases
// (LeasingResponseStore) and a FakeWaitClock, so no test sleeps: the lease holder renders and
// stores with its token on the base key; a waiter serves the holder's response as collapsed, or
// renders without a token after lease_wait; a refused store is counted, not an error; an unused
// lease is released; stores without leases, errors and lease_wait = 0 keep the old behaviour.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/key.h"
#include "tests/client/fake_wait_clock.h"
#include "tests/http/http_cache_fixture.h"
#include "tests/http/leasing_response_store.h"

namespace larder::http::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

class HttpCacheLeaseTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    cache_ = NewCache(leasing_);
    // Another replica on the same store, without leases: it stores what waiters find.
    other_registry_ = std::make_shared<prometheus::Registry>();
    HttpCacheOptions options;
    options.clock = &clock_;
    options.metrics_registry = other_registry_;
    other_ = *HttpCache::Create(store_, options);
  }

  std::unique_ptr<HttpCache> NewCache(std::shared_ptr<ResponseStore> store) {
    HttpCacheOptions options;
    options.clock = &clock_;
    options.wait_clock = &wait_clock_;
    options.metrics_registry = std::make_shared<prometheus::Registry>();
    registry_ = options.metrics_registry;
    auto cache = HttpCache::Create(std::move(store), options);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return *std::move(cache);
  }

  // The other replica renders and stores /items/1.
  void OtherReplicaStores() {
    RoutePolicy policy = policy_;
    policy.lease_wait = absl::ZeroDuration();
    auto handler = MakeRouteHandler(
        [](const Request&) {
          return Response{200, {}, "{\"render\":\"other\"}"};
        },
        Get("/items/1"));
    other_->Handle(Get("/items/1"), policy, *handler);
  }

  double Leases(const std::string& result) {
    return Metric("larder_http_leases_total", {{"route", "items"}, {"result", result}});
  }
  static std::string BaseKey() { return DefaultCacheKey(Get("/items/1"), {}); }

  larder::testing::FakeWaitClock wait_clock_;
  std::shared_ptr<LeasingResponseStore> leasing_ = std::make_shared<LeasingResponseStore>(store_);
  std::shared_ptr<prometheus::Registry> other_registry_;
  std::unique_ptr<HttpCache> other_;
};

TEST_F(HttpCacheLeaseTest, GrantedLeaseRendersAndStoresWithItsTokenOnTheBaseKey) {
  leasing_->Script({Granted("t1")});
  Response miss = Send(Get("/items/1"));
  EXPECT_EQ(Header(miss, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_THAT(leasing_->leased_stores(), ElementsAre(Pair(BaseKey(), "t1")));
  EXPECT_THAT(leasing_->lease_ttls(), ElementsAre(absl::Seconds(5)));
  EXPECT_THAT(leasing_->released(), IsEmpty());
  EXPECT_EQ(Leases("granted"), 1);
  Response hit = Send(Get("/items/1"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(leasing_->leases(), 1);  // A hit never asks for a lease.
}

TEST_F(HttpCacheLeaseTest, WaiterServesTheHoldersResponseAsCollapsed) {
  leasing_->Script({Wait(), Wait()});
  wait_clock_.set_on_sleep([this](int pause) {
    if (pause == 2) OtherReplicaStores();  // The holder stores during the second pause.
  });
  Response response = Send(Get("/items/1"));
  EXPECT_EQ(renders(), 0);
  EXPECT_EQ(response.body, "{\"render\":\"other\"}");
  EXPECT_EQ(Header(response, "X-Cache"), "HIT");
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=uri-miss; collapsed");
  ASSERT_EQ(wait_clock_.pauses().size(), 2u);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(wait_clock_.pauses()[0]), 5, 1);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(wait_clock_.pauses()[1]), 10, 2);
  EXPECT_EQ(Leases("waited"), 1);
  EXPECT_EQ(Leases("wait_timeout"), 0);
  EXPECT_EQ(Responses("hit"), 1);
}

TEST_F(HttpCacheLeaseTest, WaitThatEndsWithoutAResponseRendersWithoutAToken) {
  leasing_->set_always_wait(true);
  policy_.lease_wait = absl::Seconds(1);
  Response response = Send(Get("/items/1"));
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_EQ(wait_clock_.slept(), absl::Seconds(1));
  EXPECT_EQ(leasing_->lease_ttls().front(), absl::Seconds(1));
  EXPECT_THAT(leasing_->leased_stores(), IsEmpty());
  EXPECT_THAT(leasing_->stored_keys(), ElementsAre(BaseKey()));
  EXPECT_EQ(Leases("waited"), 1);
  EXPECT_EQ(Leases("wait_timeout"), 1);
}

TEST_F(HttpCacheLeaseTest, WaiterGrantedTheLeaseAfterTheHolderGaveUpRendersWithIt) {
  leasing_->Script({Wait(), Granted("t2")});
  Send(Get("/items/1"));
  EXPECT_EQ(renders(), 1);
  EXPECT_THAT(leasing_->leased_stores(), ElementsAre(Pair(BaseKey(), "t2")));
  EXPECT_EQ(Leases("waited"), 1);
  EXPECT_EQ(Leases("granted"), 1);
}

TEST_F(HttpCacheLeaseTest, RefusedStoreIsStaleSetPreventedNotAnError) {
  leasing_->Script({Granted("t1")});
  leasing_->set_refuse_leased(true);
  Response response = Send(Get("/items/1"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=uri-miss");
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Leases("stale_set_prevented"), 1);
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "store"}}),
            0);
  EXPECT_THAT(leasing_->released(), IsEmpty());  // The refusal ended the lease.
  Send(Get("/items/1"));
  EXPECT_EQ(renders(), 2);  // The next request renders afresh.
}

TEST_F(HttpCacheLeaseTest, VariantRecordIsWrittenOnlyAfterTheLeasedBaseWrite) {
  handler_ = [](const Request&, int) {
    return Response{200, {{"Vary", "Accept-Language"}}, "hallo"};
  };
  leasing_->Script({Granted("t1")});
  Send(Get("/items/1", {{"Accept-Language", "de"}}));
  ASSERT_EQ(leasing_->stored_keys().size(), 2u);
  EXPECT_EQ(leasing_->stored_keys()[0], BaseKey());
  EXPECT_THAT(leasing_->stored_keys()[1], HasSubstr(BaseKey() + "~"));
  EXPECT_THAT(leasing_->leased_stores(), ElementsAre(Pair(BaseKey(), "t1")));

  leasing_->Script({Granted("t2")});
  leasing_->set_refuse_leased(true);
  Send(Get("/items/2", {{"Accept-Language", "de"}}));
  EXPECT_EQ(leasing_->stored_keys().size(), 3u);  // Refused: no variant record either.
}

TEST_F(HttpCacheLeaseTest, UnstoredRenderReleasesItsLease) {
  handler_ = [](const Request&, int) { return Response{404, {}, "no such item"}; };
  leasing_->Script({Granted("t1")});
  Send(Get("/items/1"));
  EXPECT_THAT(leasing_->released(), ElementsAre(Pair(BaseKey(), "t1")));
  EXPECT_THAT(leasing_->leased_stores(), IsEmpty());
}

TEST_F(HttpCacheLeaseTest, FailedRenderReleasesItsLease) {
  handler_ = [](const Request&, int) -> Response { throw std::runtime_error("database down"); };
  leasing_->Script({Granted("t1")});
  EXPECT_THROW(Send(Get("/items/1")), std::runtime_error);
  EXPECT_THAT(leasing_->released(), ElementsAre(Pair(BaseKey(), "t1")));
}

TEST_F(HttpCacheLeaseTest, LeaseErrorRendersAndStoresAsWithoutLeases) {
  leasing_->Script({absl::UnavailableError("larder unreachable")});
  Response response = Send(Get("/items/1"));
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_THAT(leasing_->leased_stores(), IsEmpty());
  EXPECT_EQ(store_->size(), 1u);
}

TEST_F(HttpCacheLeaseTest, LeaseWaitZeroNeverAsksForALease) {
  policy_.lease_wait = absl::ZeroDuration();
  Send(Get("/items/1"));
  EXPECT_EQ(leasing_->leases(), 0);
  EXPECT_EQ(store_->size(), 1u);
}

TEST_F(HttpCacheLeaseTest, RevalidationOfAStoredResponseTakesNoLease) {
  leasing_->Script({Granted("t1")});
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(31));  // Stale; kept one more ttl for revalidation.
  Send(Get("/items/1"));
  EXPECT_EQ(renders(), 2);
  EXPECT_EQ(leasing_->leases(), 1);
}

TEST(ResponseStoreTest, DefaultsMeanNoLeases) {
  larder::testing::FakeClock clock;
  InMemoryResponseStore store(clock);
  ResponseStore& base = store;
  absl::StatusOr<StoreLease> lease = base.Lease("items", "k", absl::Seconds(5));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->state, StoreLease::State::kNone);
  absl::StatusOr<bool> stored = base.StoreLeased("items", "k", {}, absl::Seconds(5), {}, "t");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(*stored);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(base.ReleaseLease("items", "k", "t").ok());
}

}  // namespace
}  // namespace larder::http::testing

// CacheHandler: the Lease call and Set's lease_token — validation naming the field and limit,
// the response shapes, and the larder_leases_total counters — over a real memory engine with
// leases (as larderd makes it) and a FakeClock.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/service/cache_handler.h"
#include "server/storage/leasing_engine.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class CacheHandlerLeaseTest : public ::testing::Test {
 protected:
  CacheHandlerLeaseTest() {
    storage::MemoryEngineOptions memory;
    memory.sweep_interval = absl::ZeroDuration();
    engine_ = storage::WithLeases(std::move(storage::MemoryEngine::Create(memory, clock_)).value(),
                                  storage::LeaseOptions{}, clock_);
    handler_ = std::make_unique<CacheHandler>(*engine_, clock_, CacheHandlerOptions{});
  }

  static v1::LeaseRequest LeaseRequestFor(const std::string& key) {
    v1::LeaseRequest request;
    request.set_namespace_("ns");
    request.set_key(key);
    return request;
  }
  v1::LeaseResponse LeaseOf(const std::string& key) {
    v1::LeaseResponse response;
    EXPECT_OK(handler_->Lease(LeaseRequestFor(key), response));
    return response;
  }
  static v1::SetRequest SetRequestFor(const std::string& key, const std::string& value,
                                      const std::string& token) {
    v1::SetRequest request;
    request.set_namespace_("ns");
    request.set_key(key);
    request.set_value(value);
    request.set_lease_token(token);
    return request;
  }
  absl::Status TrySet(const v1::SetRequest& request, v1::SetResponse& response) {
    return handler_->Set(request, response);
  }
  uint64_t Count(const std::atomic<uint64_t>& counter) const { return counter.load(); }

  testing::FakeClock clock_;
  std::unique_ptr<storage::StorageEngine> engine_;
  std::unique_ptr<CacheHandler> handler_;
};

TEST_F(CacheHandlerLeaseTest, MissGrantsThenWaitsThenStoresWithTheToken) {
  const v1::LeaseResponse first = LeaseOf("k");
  EXPECT_FALSE(first.has_entry());
  EXPECT_EQ(first.lease_token().size(), 32u);
  const v1::LeaseResponse second = LeaseOf("k");
  EXPECT_TRUE(second.wait());
  EXPECT_TRUE(second.lease_token().empty());
  EXPECT_FALSE(second.stale().found());

  v1::SetResponse stored;
  ASSERT_OK(TrySet(SetRequestFor("k", "v", first.lease_token()), stored));
  EXPECT_TRUE(stored.stored());
  v1::SetResponse again;
  ASSERT_OK(TrySet(SetRequestFor("k", "w", first.lease_token()), again));
  EXPECT_FALSE(again.stored()) << "a lease stores once";
  EXPECT_EQ(again.etag(), StrongEtagFor("v"));

  const v1::LeaseResponse hit = LeaseOf("k");
  EXPECT_TRUE(hit.entry().found());
  EXPECT_EQ(hit.entry().value(), "v");
  EXPECT_TRUE(hit.lease_token().empty());
  EXPECT_FALSE(hit.wait());

  const LeaseCounters& counters = handler_->lease_counters();
  EXPECT_EQ(Count(counters.granted), 1u);
  EXPECT_EQ(Count(counters.waited), 1u);
  EXPECT_EQ(Count(counters.filled), 1u);
  EXPECT_EQ(Count(counters.refused), 1u);
}

TEST_F(CacheHandlerLeaseTest, WaiterGetsTheStaleValueWithItsRemainingGrace) {
  v1::SetResponse stored;
  ASSERT_OK(TrySet(SetRequestFor("k", "old", LeaseOf("k").lease_token()), stored));
  v1::DeleteRequest remove;
  remove.set_namespace_("ns");
  remove.set_key("k");
  v1::DeleteResponse removed;
  ASSERT_OK(handler_->Delete(remove, removed));
  LeaseOf("k");
  const v1::LeaseResponse waiter = LeaseOf("k");
  ASSERT_TRUE(waiter.wait());
  ASSERT_TRUE(waiter.stale().found());
  EXPECT_EQ(waiter.stale().value(), "old");
  EXPECT_EQ(waiter.stale().etag(), StrongEtagFor("old"));
  EXPECT_EQ(waiter.stale().ttl().seconds(), absl::ToInt64Seconds(storage::LeaseOptions{}.grace));
  EXPECT_EQ(Count(handler_->lease_counters().stale), 1u);
}

TEST_F(CacheHandlerLeaseTest, ASetRefusedForBadInputEndsItsLeaseAndStoresNothing) {
  const std::string token = LeaseOf("k").lease_token();
  v1::SetRequest refused = SetRequestFor("k", "v", token);
  refused.mutable_ttl()->set_seconds(-1);
  v1::SetResponse response;
  EXPECT_THAT(TrySet(refused, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ttl")));
  const v1::LeaseResponse next = LeaseOf("k");
  EXPECT_FALSE(next.wait()) << "the refused Set ended its lease";
  EXPECT_FALSE(next.has_entry()) << "and stored nothing";
  EXPECT_EQ(next.lease_token().size(), 32u);
  EXPECT_EQ(Count(handler_->lease_counters().ended), 1u);

  v1::SetRequest other_key = SetRequestFor("j", "v", next.lease_token());
  other_key.mutable_ttl()->set_seconds(-1);
  EXPECT_FALSE(TrySet(other_key, response).ok());
  EXPECT_TRUE(LeaseOf("k").wait()) << "a token ends only the lease of its own key";
  EXPECT_EQ(Count(handler_->lease_counters().ended), 1u);
  EXPECT_EQ(Count(handler_->lease_counters().end_failed), 0u);
}

TEST_F(CacheHandlerLeaseTest, LeaseTtlMustBePositiveAndAtMostOneMinute) {
  for (int64_t seconds : {-1, 0, 61}) {
    v1::LeaseRequest request = LeaseRequestFor("k");
    request.mutable_lease_ttl()->set_seconds(seconds);
    v1::LeaseResponse response;
    EXPECT_THAT(handler_->Lease(request, response),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_ttl")))
        << seconds;
  }
  v1::LeaseRequest longest = LeaseRequestFor("k");
  longest.mutable_lease_ttl()->set_seconds(60);
  v1::LeaseResponse response;
  EXPECT_OK(handler_->Lease(longest, response));
  EXPECT_FALSE(response.lease_token().empty());
}

TEST_F(CacheHandlerLeaseTest, LeaseChecksNamespaceAndKey) {
  v1::LeaseRequest request = LeaseRequestFor("");
  v1::LeaseResponse response;
  EXPECT_THAT(handler_->Lease(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  request = LeaseRequestFor("k");
  request.set_namespace_("a b");
  EXPECT_THAT(handler_->Lease(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("namespace")));
}

TEST_F(CacheHandlerLeaseTest, LeaseTokenIsBoundedAloneAndSetOnly) {
  v1::SetResponse response;
  EXPECT_THAT(TrySet(SetRequestFor("k", "v", std::string(65, 'a')), response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("lease_token"), HasSubstr("64 bytes"))));
  v1::SetRequest with_match = SetRequestFor("k", "v", "token");
  with_match.set_if_match("*");
  EXPECT_THAT(TrySet(with_match, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_token")));
  v1::SetRequest with_absent = SetRequestFor("k", "v", "token");
  with_absent.set_if_absent(true);
  EXPECT_THAT(TrySet(with_absent, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_token")));

  v1::MultiSetRequest batch;
  batch.set_namespace_("ns");
  *batch.add_entries() = SetRequestFor("k", "v", "token");
  v1::MultiSetResponse batch_response;
  EXPECT_THAT(handler_->MultiSet(batch, batch_response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("entries[0].lease_token"), HasSubstr("Set only"))));
  EXPECT_FALSE(LeaseOf("k").has_entry()) << "nothing was stored";
}

}  // namespace
}  // namespace larder::server

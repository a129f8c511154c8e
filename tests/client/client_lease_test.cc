// Client::Lease and SetOptions::lease_token against a real larderd (memory engine): a miss grants
// one lease and tells later callers to wait, a live entry is returned as is, a store with the
// token succeeds once, a write, Delete or Invalidate voids the lease so its store is refused, and
// a waiter is offered the value larderd kept from before.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/client/client_fixture.h"

namespace larder {
namespace {

using ::larder::testing::IsOkAndHolds;
using ::larder::testing::LarderdClientTest;
using ::larder::testing::StatusCodeIs;
using ::testing::ContainsRegex;
using ::testing::IsEmpty;

class ClientLeaseTest : public LarderdClientTest {
 protected:
  // A lease on `key` of namespace "leases", which must be granted.
  std::string Grant(const std::string& key) {
    absl::StatusOr<LeaseResult> leased = client_->Lease("leases", key);
    EXPECT_TRUE(leased.ok()) << leased.status();
    if (!leased.ok()) return "";
    EXPECT_FALSE(leased->token.empty());
    return leased->token;
  }

  absl::StatusOr<SetResult> SetWithToken(const std::string& key, const std::string& value,
                                         const std::string& token) {
    SetOptions options;
    options.lease_token = token;
    return client_->Set("leases", key, value, options);
  }
};

TEST_F(ClientLeaseTest, AMissGrantsOneLeaseAndLaterCallersWait) {
  ASSERT_OK_AND_ASSIGN(LeaseResult first, client_->Lease("leases", "k", absl::Seconds(30)));
  EXPECT_THAT(first.token, ContainsRegex("^[0-9a-f]{32}$"));
  EXPECT_FALSE(first.wait);
  EXPECT_FALSE(first.entry.found);
  EXPECT_FALSE(first.stale.found);
  ASSERT_OK_AND_ASSIGN(LeaseResult second, client_->Lease("leases", "k"));
  EXPECT_TRUE(second.wait);
  EXPECT_THAT(second.token, IsEmpty());
  EXPECT_FALSE(second.entry.found);
  EXPECT_FALSE(second.stale.found);  // Nothing was stored with a lease before.
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Lease"}, {"code", "OK"}}), 2);
}

TEST_F(ClientLeaseTest, ALiveEntryIsReturnedWithNothingElse) {
  ASSERT_OK_AND_ASSIGN(SetResult set, client_->Set("leases", "live", "value"));
  ASSERT_OK_AND_ASSIGN(LeaseResult leased, client_->LeaseAsync("leases", "live").get());
  EXPECT_TRUE(leased.entry.found);
  EXPECT_EQ(leased.entry.value, "value");
  EXPECT_EQ(leased.entry.etag, set.etag);
  EXPECT_THAT(leased.token, IsEmpty());
  EXPECT_FALSE(leased.wait);
  EXPECT_FALSE(leased.stale.found);
}

TEST_F(ClientLeaseTest, AStoreWithTheTokenSucceedsOnceAndEndsTheLease) {
  const std::string token = Grant("once");
  ASSERT_OK_AND_ASSIGN(SetResult stored, SetWithToken("once", "computed", token));
  EXPECT_TRUE(stored.stored);
  ASSERT_OK_AND_ASSIGN(SetResult again, SetWithToken("once", "again", token));
  EXPECT_FALSE(again.stored);
  EXPECT_EQ(again.etag, stored.etag);  // The current entry's.
  EXPECT_THAT(client_->Get("leases", "once"),
              IsOkAndHolds(::testing::Field(&GetResult::value, "computed")));
  ASSERT_OK_AND_ASSIGN(LeaseResult after, client_->Lease("leases", "once"));
  EXPECT_TRUE(after.entry.found);
}

TEST_F(ClientLeaseTest, APlainWriteVoidsTheLeaseSoItsStoreIsRefused) {
  const std::string token = Grant("raced");
  ASSERT_OK_AND_ASSIGN(SetResult newer, client_->Set("leases", "raced", "newer"));
  ASSERT_OK_AND_ASSIGN(SetResult old, SetWithToken("raced", "older", token));
  EXPECT_FALSE(old.stored);
  EXPECT_EQ(old.etag, newer.etag);
  EXPECT_THAT(client_->Get("leases", "raced"),
              IsOkAndHolds(::testing::Field(&GetResult::value, "newer")));
}

TEST_F(ClientLeaseTest, ADeleteOrAnInvalidateVoidsTheLease) {
  const std::string deleted = Grant("deleted");
  ASSERT_OK(client_->Delete("leases", "deleted").status());  // No entry: the lease still goes.
  EXPECT_THAT(SetWithToken("deleted", "v", deleted),
              IsOkAndHolds(::testing::Field(&SetResult::stored, false)));
  EXPECT_FALSE(client_->Get("leases", "deleted")->found);
  const std::string invalidated = Grant("tagged");
  ASSERT_OK(client_->Invalidate("leases", InvalidateTarget::Tag("unrelated")).status());
  EXPECT_THAT(SetWithToken("tagged", "v", invalidated),
              IsOkAndHolds(::testing::Field(&SetResult::stored, false)));
  // A voided lease is not current: the next caller gets a new one.
  EXPECT_THAT(Grant("tagged"), ContainsRegex("^[0-9a-f]{32}$"));
}

TEST_F(ClientLeaseTest, AWaiterIsOfferedTheValueKeptFromBeforeARemoval) {
  ASSERT_OK_AND_ASSIGN(SetResult stored, SetWithToken("page", "v1", Grant("page")));
  ASSERT_TRUE(stored.stored);
  ASSERT_OK(client_->Delete("leases", "page").status());
  const std::string recomputing = Grant("page");  // The holder gets no stale value.
  ASSERT_OK_AND_ASSIGN(LeaseResult waiter, client_->Lease("leases", "page"));
  EXPECT_TRUE(waiter.wait);
  EXPECT_FALSE(waiter.entry.found);
  ASSERT_TRUE(waiter.stale.found);
  EXPECT_EQ(waiter.stale.value, "v1");
  EXPECT_EQ(waiter.stale.etag, stored.etag);
  ASSERT_TRUE(waiter.stale.ttl.has_value());  // How long larderd keeps it (--lease-grace).
  EXPECT_GT(*waiter.stale.ttl, absl::ZeroDuration());
  EXPECT_LE(*waiter.stale.ttl, absl::Seconds(10));
  EXPECT_THAT(SetWithToken("page", "v2", recomputing),
              IsOkAndHolds(::testing::Field(&SetResult::stored, true)));
}

TEST_F(ClientLeaseTest, ABadLeaseTtlOrATokenWithAConditionIsInvalidArgument) {
  EXPECT_THAT(client_->Lease("leases", "k", absl::Seconds(61)),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client_->Lease("leases", "k", -absl::Seconds(1)),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
  SetOptions conditional;
  conditional.lease_token = Grant("k");
  conditional.if_absent = true;
  EXPECT_THAT(client_->Set("leases", "k", "v", conditional),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
  conditional.if_absent = false;
  conditional.if_match = "*";
  EXPECT_THAT(client_->Set("leases", "k", "v", conditional),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace larder

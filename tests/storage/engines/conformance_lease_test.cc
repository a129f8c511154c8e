// Conformance: leases (StorageEngine::Lease and SetOptions::lease_token), one case per rule of
// the contract in storage_engine.h, on every engine.
#include <string>

#include "absl/strings/ascii.h"
#include "larder/common/etag.h"
#include "tests/storage/engines/engine_test_base.h"

namespace larder::storage::testing {
namespace {

using ::testing::Eq;
using ::testing::Optional;

constexpr absl::Duration kLeaseTtl = absl::Seconds(5);

class EngineLeaseTest : public EngineTest {
 protected:
  LeaseResult LeaseOf(absl::string_view ns, absl::string_view key) {
    absl::StatusOr<LeaseResult> lease = engine().Lease(ns, key, kLeaseTtl);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *std::move(lease) : LeaseResult{};
  }
  // A new lease on (ns, key); fails the test when none is granted.
  std::string Granted(absl::string_view ns, absl::string_view key) {
    LeaseResult lease = LeaseOf(ns, key);
    EXPECT_FALSE(lease.token.empty()) << "no lease granted on " << key;
    return lease.token;
  }
  SetResult SetWithToken(absl::string_view ns, absl::string_view key, absl::string_view value,
                         const std::string& token, absl::Duration ttl = absl::Minutes(1)) {
    SetOptions options = OptionsFor(value, clock().Now() + ttl);
    options.lease_token = token;
    absl::StatusOr<SetResult> result = engine().Set(ns, key, value, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SetResult{};
  }
  // True when another caller is told to wait (the lease is current).
  bool Waits(absl::string_view ns, absl::string_view key) { return LeaseOf(ns, key).wait; }
};

TEST_P(EngineLeaseTest, LiveEntryIsReturnedAndNoLeaseGranted) {
  Put("ns", "k", "v");
  LeaseResult lease = LeaseOf("ns", "k");
  ASSERT_TRUE(lease.entry.has_value());
  EXPECT_EQ(lease.entry->value, "v");
  EXPECT_EQ(lease.entry->etag, StrongEtagFor("v"));
  EXPECT_TRUE(lease.token.empty());
  EXPECT_FALSE(lease.wait);
  EXPECT_FALSE(lease.stale.has_value());
}

TEST_P(EngineLeaseTest, MissGrantsAnUnguessableToken) {
  LeaseResult lease = LeaseOf("ns", "k");
  EXPECT_FALSE(lease.entry.has_value());
  EXPECT_FALSE(lease.wait);
  ASSERT_EQ(lease.token.size(), 32u);
  for (char c : lease.token) EXPECT_TRUE(absl::ascii_isxdigit(c)) << lease.token;
  EXPECT_NE(Granted("ns", "other"), lease.token);
}

TEST_P(EngineLeaseTest, OthersWaitWhileTheLeaseIsOutstanding) {
  Granted("ns", "k");
  LeaseResult second = LeaseOf("ns", "k");
  EXPECT_TRUE(second.wait);
  EXPECT_TRUE(second.token.empty());
  EXPECT_FALSE(second.stale.has_value());
  EXPECT_FALSE(Waits("ns", "unrelated"));
}

TEST_P(EngineLeaseTest, ExpiredLeaseIsGrantedToTheNextCaller) {
  const std::string first = Granted("ns", "k");
  clock().Advance(kLeaseTtl + absl::Milliseconds(1));
  const std::string second = Granted("ns", "k");
  EXPECT_NE(first, second);
  EXPECT_FALSE(SetWithToken("ns", "k", "late", first).stored);
  EXPECT_TRUE(SetWithToken("ns", "k", "v", second).stored);
}

TEST_P(EngineLeaseTest, SetWithCurrentTokenStoresOnceAndEndsTheLease) {
  const std::string token = Granted("ns", "k");
  EXPECT_THAT(SetWithToken("ns", "k", "v", token), SetResultIs(true, StrongEtagFor("v")));
  EXPECT_EQ(ValueOf("ns", "k"), "v");
  EXPECT_THAT(SetWithToken("ns", "k", "again", token), SetResultIs(false, StrongEtagFor("v")));
  EXPECT_EQ(ValueOf("ns", "k"), "v");
}

TEST_P(EngineLeaseTest, SetWithUnknownTokenIsRefusedAndChangesNothing) {
  Granted("ns", "k");
  EXPECT_THAT(SetWithToken("ns", "k", "v", "0123456789abcdef0123456789abcdef"),
              SetResultIs(false, ""));
  EXPECT_EQ(ValueOf("ns", "k"), "<miss>");
  EXPECT_THAT(SetWithToken("ns", "never-leased", "v", "feed"), SetResultIs(false, ""));
  EXPECT_EQ(ValueOf("ns", "never-leased"), "<miss>");
}

TEST_P(EngineLeaseTest, SetWithoutTokenVoidsTheLease) {
  const std::string token = Granted("ns", "k");
  Put("ns", "k", "fresh");
  EXPECT_THAT(SetWithToken("ns", "k", "old", token), SetResultIs(false, StrongEtagFor("fresh")));
  EXPECT_EQ(ValueOf("ns", "k"), "fresh");
}

TEST_P(EngineLeaseTest, MultiSetVoidsTheLease) {
  const std::string token = Granted("ns", "k");
  ASSERT_TRUE(engine().MultiSet("ns", {ItemFor("k", "fresh"), ItemFor("j", "x")}).ok());
  EXPECT_FALSE(SetWithToken("ns", "k", "old", token).stored);
  EXPECT_EQ(ValueOf("ns", "k"), "fresh");
}

TEST_P(EngineLeaseTest, EndLeaseWithTheCurrentTokenGrantsTheNextCallerAtOnce) {
  const std::string token = Granted("ns", "k");
  ASSERT_THAT(engine().EndLease("ns", "k", token), IsOkAndHolds(true));
  EXPECT_EQ(ValueOf("ns", "k"), "<miss>") << "ending a lease stores nothing";
  const std::string next = Granted("ns", "k");
  EXPECT_NE(next, token);
  EXPECT_FALSE(SetWithToken("ns", "k", "late", token).stored) << "an ended lease stores nothing";
  EXPECT_TRUE(SetWithToken("ns", "k", "v", next).stored);
  EXPECT_EQ(ValueOf("ns", "k"), "v");
}

TEST_P(EngineLeaseTest, EndLeaseWithAnyOtherTokenOrKeyChangesNothing) {
  const std::string token = Granted("ns", "k");
  EXPECT_THAT(engine().EndLease("ns", "k", "0123456789abcdef0123456789abcdef"),
              IsOkAndHolds(false));
  EXPECT_THAT(engine().EndLease("ns", "other", token), IsOkAndHolds(false));
  EXPECT_THAT(engine().EndLease("elsewhere", "k", token), IsOkAndHolds(false));
  EXPECT_TRUE(Waits("ns", "k"));
  EXPECT_TRUE(SetWithToken("ns", "k", "v", token).stored);
  EXPECT_THAT(engine().EndLease("ns", "k", token), IsOkAndHolds(false)) << "already filled";
  EXPECT_EQ(ValueOf("ns", "k"), "v");
}

TEST_P(EngineLeaseTest, EndLeaseKeepsTheStaleValueOffered) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k")).stored);
  ASSERT_TRUE(engine().Delete("ns", "k").ok());
  ASSERT_THAT(engine().EndLease("ns", "k", Granted("ns", "k")), IsOkAndHolds(true));
  Granted("ns", "k");
  LeaseResult waiter = LeaseOf("ns", "k");
  ASSERT_TRUE(waiter.wait);
  ASSERT_TRUE(waiter.stale.has_value());
  EXPECT_EQ(waiter.stale->value, "old");
}

TEST_P(EngineLeaseTest, DeleteVoidsTheLeaseOfAMissingKey) {
  const std::string token = Granted("ns", "k");
  ASSERT_TRUE(engine().Delete("ns", "k").ok());
  EXPECT_FALSE(SetWithToken("ns", "k", "old", token).stored);
  EXPECT_EQ(ValueOf("ns", "k"), "<miss>");
  EXPECT_FALSE(LeaseOf("ns", "k").token.empty()) << "after a void, the next miss gets a lease";
}

TEST_P(EngineLeaseTest, InvalidateOfEveryKindVoidsEveryLeaseOfItsNamespace) {
  using Kind = InvalidateTarget::Kind;
  const InvalidateTarget targets[] = {
      {Kind::kAll, ""}, {Kind::kPrefix, "zzz"}, {Kind::kPattern, "nothing*"}, {Kind::kTag, "t"}};
  for (const InvalidateTarget& target : targets) {
    SCOPED_TRACE(static_cast<int>(target.kind));
    if (!CheckInvalidateSupported(engine(), target).ok()) {
      // Declared: refused before anything changes, leases included.
      ExpectUnsupported(engine().Invalidate("ns", target).status(), "Invalidate by");
      continue;
    }
    const std::string token = Granted("ns", "k");
    const std::string elsewhere = Granted("other", "k");
    ASSERT_TRUE(engine().Invalidate("ns", target).ok());
    EXPECT_FALSE(SetWithToken("ns", "k", "old", token).stored);
    EXPECT_EQ(ValueOf("ns", "k"), "<miss>");
    EXPECT_TRUE(SetWithToken("other", "k", "v", elsewhere).stored)
        << "other namespaces keep theirs";
    ASSERT_TRUE(engine().Delete("other", "k").ok());
  }
}

TEST_P(EngineLeaseTest, WaiterIsOfferedTheExpiredValueWithinGrace) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k"), absl::Seconds(2)).stored);
  clock().Advance(absl::Seconds(3));
  EXPECT_FALSE(LeaseOf("ns", "k").token.empty()) << "the expired entry's first caller computes";
  LeaseResult waiter = LeaseOf("ns", "k");
  ASSERT_TRUE(waiter.wait);
  ASSERT_TRUE(waiter.stale.has_value());
  EXPECT_EQ(waiter.stale->value, "old");
  EXPECT_EQ(waiter.stale->etag, StrongEtagFor("old"));
  EXPECT_GT(waiter.stale->expires_at, clock().Now());
}

TEST_P(EngineLeaseTest, WaiterIsOfferedTheDeletedValueWithinGraceOnly) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k")).stored);
  ASSERT_TRUE(engine().Delete("ns", "k").ok());
  Granted("ns", "k");
  LeaseResult waiter = LeaseOf("ns", "k");
  ASSERT_TRUE(waiter.stale.has_value());
  EXPECT_EQ(waiter.stale->value, "old");
  clock().Advance(LeaseOptions{}.grace + absl::Seconds(1));
  Granted("ns", "k");
  EXPECT_FALSE(LeaseOf("ns", "k").stale.has_value()) << "past the grace window";
}

TEST_P(EngineLeaseTest, WaiterIsOfferedTheInvalidatedValue) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k")).stored);
  ASSERT_TRUE(engine().Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).ok());
  Granted("ns", "k");
  LeaseResult waiter = LeaseOf("ns", "k");
  ASSERT_TRUE(waiter.wait);
  ASSERT_TRUE(waiter.stale.has_value());
  EXPECT_EQ(waiter.stale->value, "old");
}

TEST_P(EngineLeaseTest, SetWithoutTokenForgetsTheStaleValue) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k")).stored);
  Put("ns", "k", "newer");
  ASSERT_TRUE(engine().Delete("ns", "k").ok());
  Granted("ns", "k");
  LeaseResult waiter = LeaseOf("ns", "k");
  EXPECT_TRUE(waiter.wait);
  EXPECT_FALSE(waiter.stale.has_value()) << "\"old\" is older than the value deleted";
}

TEST_P(EngineLeaseTest, StaleIsNeverGivenWithoutWait) {
  ASSERT_TRUE(SetWithToken("ns", "k", "old", Granted("ns", "k")).stored);
  ASSERT_TRUE(engine().Delete("ns", "k").ok());
  LeaseResult first = LeaseOf("ns", "k");
  EXPECT_FALSE(first.token.empty());
  EXPECT_FALSE(first.stale.has_value());
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineLeaseTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

// The memcached engine's leases beyond the conformance suite, against two real memcached servers
// shared by two MemcachedEngines (two larderds): leases shared by both, every voider through one
// voiding a lease held through the other, the steps of a Set with a token interleaved with each
// voider (and stopped for good between them, as when its larderd dies), and the round trips of
// each call. No test sleeps: each engine has its own FakeClock.
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/memcached/memcached_calls.h"
#include "server/storage/memcached/memcached_engine.h"
#include "tests/storage/engines/memcached_test_util.h"
#include "tests/storage/lease_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using testing::Plain;
using testing::SharedMemcachedServers;
using Step = MemcachedEngine::LeaseSetStep;

constexpr absl::Duration kLeaseTtl = absl::Seconds(5);

// A call that voids a key's lease, run through one engine, and what it leaves under the key.
struct Voider {
  std::string name;
  std::function<void(MemcachedEngine&, const std::string&)> run;
  std::string leaves;
  bool writes_entry = true;  // It writes (or removes) the entry itself.
};

std::vector<Voider> Voiders() {
  using Kind = InvalidateTarget::Kind;
  return {
      {"set",
       [](MemcachedEngine& engine, const std::string& key) {
         EXPECT_OK(engine.Set("ns", key, "fresh", Plain("fresh")).status());
       },
       "fresh"},
      {"multiset",
       [](MemcachedEngine& engine, const std::string& key) {
         EXPECT_OK(engine.MultiSet("ns", {SetItem{key, "fresh", Plain("fresh")}}).status());
       },
       "fresh"},
      {"delete",
       [](MemcachedEngine& engine, const std::string& key) {
         EXPECT_OK(engine.Delete("ns", key).status());
       },
       "<miss>"},
      {"invalidate-all",
       [](MemcachedEngine& engine, const std::string&) {
         EXPECT_OK(engine.Invalidate("ns", {Kind::kAll, ""}).status());
       },
       "<miss>", false},
      {"invalidate-tag",
       [](MemcachedEngine& engine, const std::string&) {
         EXPECT_OK(engine.Invalidate("ns", {Kind::kTag, "t"}).status());
       },
       "<miss>", false},
  };
}

// Two engines, as two larderds, on the same servers and key prefix, each with its own clock.
class MemcachedLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> next{0};
    options_.servers = SharedMemcachedServers();
    ASSERT_FALSE(options_.servers.empty()) << "memcached did not start";
    options_.key_prefix = absl::StrCat("lease-test-", getpid(), "-", next++, ":");
    options_.timeout = absl::Milliseconds(500);
    ASSERT_OK_AND_ASSIGN(first_, MemcachedEngine::Create(options_, first_clock_, leases_));
    ASSERT_OK_AND_ASSIGN(second_, MemcachedEngine::Create(options_, second_clock_, leases_));
  }

  // Stores `value` for a minute (by first's clock) with `token` and `tags`.
  SetOptions WithToken(absl::string_view value, const std::string& token,
                       std::vector<std::string> tags = {}) {
    SetOptions options = Plain(value);
    options.expires_at = first_clock_.Now() + absl::Minutes(1);
    options.lease_token = token;
    options.tags = std::move(tags);
    return options;
  }
  // A new lease of (ns, key) through `engine`; fails the test when none is granted.
  std::string Granted(MemcachedEngine& engine, absl::string_view key, absl::string_view ns = "ns") {
    absl::StatusOr<LeaseResult> lease = engine.Lease(ns, key, kLeaseTtl);
    EXPECT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE(lease.ok() && !lease->token.empty()) << "no lease granted on " << key;
    return lease.ok() ? lease->token : "";
  }
  std::string ValueOf(MemcachedEngine& engine, absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine.Get("ns", key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value() ? (*entry)->value : "<miss>";
  }

  larder::testing::FakeClock first_clock_, second_clock_;
  LeaseOptions leases_;
  MemcachedEngineOptions options_;
  std::unique_ptr<MemcachedEngine> first_, second_;
};

TEST_F(MemcachedLeaseTest, TwoEnginesOnTheSameServersShareALease) {
  const std::string token = Granted(*first_, "k");
  ASSERT_OK_AND_ASSIGN(LeaseResult waiting, second_->Lease("ns", "k", kLeaseTtl));
  EXPECT_TRUE(waiting.wait);
  EXPECT_TRUE(waiting.token.empty());
  // The holder may store through the other larderd; the lease then ends for both.
  ASSERT_OK_AND_ASSIGN(SetResult stored, second_->Set("ns", "k", "v", WithToken("v", token)));
  EXPECT_TRUE(stored.stored);
  EXPECT_EQ(ValueOf(*first_, "k"), "v");
  ASSERT_OK_AND_ASSIGN(LeaseResult hit, first_->Lease("ns", "k", kLeaseTtl));
  ASSERT_TRUE(hit.entry.has_value());
  EXPECT_EQ(hit.entry->value, "v");
  ASSERT_OK_AND_ASSIGN(SetResult again, first_->Set("ns", "k", "w", WithToken("w", token)));
  EXPECT_FALSE(again.stored);
  EXPECT_EQ(again.etag, StrongEtagFor("v"));
}

TEST_F(MemcachedLeaseTest, EachVoiderThroughOneVoidsALeaseHeldThroughTheOther) {
  for (const Voider& voider : Voiders()) {
    SCOPED_TRACE(voider.name);
    const std::string key = absl::StrCat("k-", voider.name);
    const std::string token = Granted(*first_, key);
    voider.run(*second_, key);
    ASSERT_OK_AND_ASSIGN(SetResult late, first_->Set("ns", key, "old", WithToken("old", token)));
    EXPECT_FALSE(late.stored);
    EXPECT_EQ(ValueOf(*first_, key), voider.leaves);
    EXPECT_EQ(ValueOf(*second_, key), voider.leaves);
    if (voider.leaves == "<miss>") {
      EXPECT_FALSE(Granted(*second_, key).empty()) << "after a void, the next miss gets a lease";
    }
  }
}

TEST_F(MemcachedLeaseTest, ANewGrantAfterTheLeaseEndedVoidsIt) {
  const std::string token = Granted(*first_, "k");
  second_clock_.Advance(kLeaseTtl + absl::Milliseconds(1));
  const std::string next = Granted(*second_, "k");
  EXPECT_NE(next, token);
  ASSERT_OK_AND_ASSIGN(SetResult late, first_->Set("ns", "k", "old", WithToken("old", token)));
  EXPECT_FALSE(late.stored) << "by first's clock the lease lasts, but it was granted again";
  ASSERT_OK_AND_ASSIGN(SetResult stored, second_->Set("ns", "k", "v", WithToken("v", next)));
  EXPECT_TRUE(stored.stored);
}

// A Set with a token through `first_`, with `voider` run through `second_` after `step`: the
// answer the rules give, and never the leased value left behind.
TEST_F(MemcachedLeaseTest, EveryVoiderAfterEveryStepOfASetWithTokenLeavesNoStaleValue) {
  for (Step step : {Step::kClaimed, Step::kStored, Step::kChecked}) {
    for (const Voider& voider : Voiders()) {
      const std::string key = absl::StrCat("k-", static_cast<int>(step), "-", voider.name);
      SCOPED_TRACE(key);
      const std::string token = Granted(*first_, key);
      std::vector<Step> seen;
      first_->SetLeaseSetHookForTesting([&](Step at) {
        seen.push_back(at);
        if (at == step) voider.run(*second_, key);
        return true;
      });
      ASSERT_OK_AND_ASSIGN(SetResult result,
                           first_->Set("ns", key, "old", WithToken("old", token, {"t"})));
      first_->SetLeaseSetHookForTesting(nullptr);
      // Voided before its check (C), the Set is refused; after it, it came first and the voider
      // supersedes its value.
      EXPECT_EQ(result.stored, step == Step::kChecked);
      EXPECT_EQ(ValueOf(*first_, key), voider.leaves);
      EXPECT_EQ(ValueOf(*second_, key), voider.leaves);
      if (step == Step::kClaimed && voider.writes_entry) {
        EXPECT_THAT(seen, ::testing::ElementsAre(Step::kClaimed))
            << "its add or cas of the entry is refused: the value is never written";
      }
    }
  }
}

// A Delete that reads the key while a lease with a stale copy is outstanding and finds the record
// filled by that lease's Set when it comes to void it: the value stored under the lease, which
// began before the Delete, is removed with it. The entry at the Delete's read: absent, or the
// empty item a Delete leaves in place of an entry whose lease it voided (no one's item).
TEST_F(MemcachedLeaseTest, ADeleteRemovesAValueItsLeaseStoredBetweenItsReadAndItsVoid) {
  for (const bool empty_item : {false, true}) {
    const std::string key = empty_item ? "k-after-a-voided-lease" : "k-absent";
    SCOPED_TRACE(key);
    ASSERT_TRUE(first_->Set("ns", key, "old", WithToken("old", Granted(*first_, key))).ok());
    ASSERT_OK(second_->Delete("ns", key).status());  // The record keeps "old" as a stale copy.
    if (empty_item) {
      Granted(*first_, key);
      ASSERT_OK(second_->Delete("ns", key).status());  // Voids that lease: the empty item.
    }
    const std::string token = Granted(*first_, key);
    ASSERT_OK_AND_ASSIGN(LeaseResult waiting, second_->Lease("ns", key, kLeaseTtl));
    ASSERT_TRUE(waiting.wait && waiting.stale.has_value()) << "a lease with a stale copy";
    absl::StatusOr<SetResult> leased;
    second_->SetDeleteReadHookForTesting(
        [&] { leased = first_->Set("ns", key, "leased", WithToken("leased", token)); });
    ASSERT_OK(second_->Delete("ns", key).status());
    second_->SetDeleteReadHookForTesting(nullptr);
    ASSERT_OK(leased.status());
    EXPECT_TRUE(leased->stored) << "the Set came first, whole";
    EXPECT_EQ(ValueOf(*first_, key), "<miss>");
    EXPECT_EQ(ValueOf(*second_, key), "<miss>");
  }
}

// A larderd that dies between two steps of a Set with a token leaves no stale value either.
TEST_F(MemcachedLeaseTest, ASetStoppedForGoodAfterAnInvalidateLeavesNoStaleValue) {
  const std::string token = Granted(*first_, "k");
  first_->SetLeaseSetHookForTesting([&](Step at) {
    if (at == Step::kClaimed) {
      EXPECT_OK(second_->Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).status());
    }
    return at != Step::kStored;  // Dies right after writing the entry, before its check.
  });
  EXPECT_EQ(first_->Set("ns", "k", "old", WithToken("old", token)).status().code(),
            absl::StatusCode::kAborted);
  first_->SetLeaseSetHookForTesting(nullptr);
  EXPECT_EQ(ValueOf(*second_, "k"), "<miss>") << "written under the generations read before";
}

TEST_F(MemcachedLeaseTest, ASetStoppedAfterItsClaimHoldsTheLeaseUntilItsEnd) {
  const std::string token = Granted(*first_, "k");
  first_->SetLeaseSetHookForTesting([](Step) { return false; });
  EXPECT_EQ(first_->Set("ns", "k", "old", WithToken("old", token)).status().code(),
            absl::StatusCode::kAborted);
  first_->SetLeaseSetHookForTesting(nullptr);
  ASSERT_OK_AND_ASSIGN(LeaseResult waiting, second_->Lease("ns", "k", kLeaseTtl));
  EXPECT_TRUE(waiting.wait);
  ASSERT_OK_AND_ASSIGN(SetResult again, second_->Set("ns", "k", "v", WithToken("v", token)));
  EXPECT_FALSE(again.stored) << "claimed once: a token stores at most once";
  second_clock_.Advance(kLeaseTtl + absl::Milliseconds(1));
  EXPECT_FALSE(Granted(*second_, "k").empty());
}

TEST_F(MemcachedLeaseTest, TheSameTokenThroughTheOtherDuringASetIsRefused) {
  const std::string token = Granted(*first_, "k");
  first_->SetLeaseSetHookForTesting([&](Step at) {
    if (at == Step::kClaimed) {
      absl::StatusOr<SetResult> twin = second_->Set("ns", "k", "twin", WithToken("twin", token));
      EXPECT_OK(twin.status());
      EXPECT_FALSE(twin.ok() && twin->stored);
    }
    return true;
  });
  ASSERT_OK_AND_ASSIGN(SetResult stored, first_->Set("ns", "k", "v", WithToken("v", token)));
  first_->SetLeaseSetHookForTesting(nullptr);
  EXPECT_TRUE(stored.stored);
  EXPECT_EQ(ValueOf(*second_, "k"), "v");
}

TEST_F(MemcachedLeaseTest, AWaiterThroughTheOtherIsOfferedTheDeletedValue) {
  ASSERT_OK(first_->Set("ns", "k", "old", WithToken("old", Granted(*first_, "k"))).status());
  ASSERT_OK(second_->Delete("ns", "k").status());
  Granted(*second_, "k");
  ASSERT_OK_AND_ASSIGN(LeaseResult waiting, first_->Lease("ns", "k", kLeaseTtl));
  ASSERT_TRUE(waiting.wait);
  ASSERT_TRUE(waiting.stale.has_value());
  EXPECT_EQ(waiting.stale->value, "old");
  EXPECT_EQ(waiting.stale->expires_at, first_clock_.Now() + leases_.grace);
}

TEST_F(MemcachedLeaseTest, ATouchMovesTheStaleCopysExpiry) {
  ASSERT_OK(first_->Set("ns", "k", "old", WithToken("old", Granted(*first_, "k"))).status());
  const absl::Time sooner = first_clock_.Now() + absl::Seconds(2);
  ASSERT_OK(second_->Touch("ns", "k", sooner).status());
  for (auto* clock : {&first_clock_, &second_clock_}) clock->Advance(absl::Seconds(3));
  Granted(*first_, "k");
  ASSERT_OK_AND_ASSIGN(LeaseResult waiting, second_->Lease("ns", "k", kLeaseTtl));
  ASSERT_TRUE(waiting.stale.has_value());
  EXPECT_EQ(waiting.stale->expires_at, sooner + leases_.grace) << "offered from its new expiry";
}

TEST_F(MemcachedLeaseTest, RoundTripsOfEachCall) {
  // Warm: the namespace's generations exist on the keys' servers, as in a running deployment.
  ASSERT_OK(first_->Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).status());
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_OK(first_->Set("ns", key, "v", Plain("v")).status());
    if (key != std::string("a")) {
      ASSERT_OK(first_->Delete("ns", key).status());
    }
  }
  auto trips = [](const std::function<void()>& call) {
    const int64_t before = internal::MemcachedRoundTrips();
    call();
    return internal::MemcachedRoundTrips() - before;
  };
  std::string token;
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Set("ns", "a", "v", Plain("v")).status()); }), 2);
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Get("ns", "a").status()); }), 1);
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Lease("ns", "a", kLeaseTtl).status()); }), 1);
  EXPECT_EQ(trips([&] { token = Granted(*first_, "b"); }), 2) << "a grant";
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Lease("ns", "b", kLeaseTtl).status()); }), 1) << "a wait";
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Set("ns", "b", "v", WithToken("v", token)).status()); }),
            5)
      << "a Set with a token";
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Set("ns", "b", "w", Plain("w")).status()); }), 3)
      << "a Set voiding a record";
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Delete("ns", "a").status()); }), 2);
  Granted(*first_, "c");
  EXPECT_EQ(trips([&] { ASSERT_OK(first_->Delete("ns", "c").status()); }), 3)
      << "a Delete voiding a lease";
  EXPECT_EQ(trips([&] {
              ASSERT_OK(first_->Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).status());
            }),
            4)
      << "a set and an incr on each of 2 servers";
  EXPECT_EQ(trips([&] { Granted(*first_, "k", "new-ns"); }), 3) << "creating the generation";
}

}  // namespace
}  // namespace larder::storage

// The Redis engine's leases beyond the conformance suite, against a real redis-server: leases
// shared by every engine on one Redis, and their layout in Redis (native expiry of lease records
// and of lease-filled entries, stale values without a second copy).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_replies.h"
#include "tests/storage/engines/redis_engine_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::RedisServerProcess;
using testing::AdminOf;
using testing::BucketOfK;
using testing::OptionsFor;
using testing::OptionsOn;

// Leases: what the Redis engine adds to the conformance suite's cases.

constexpr absl::Duration kLeaseTtl = absl::Seconds(5);

// SetOptions storing `value` for a minute with `token`.
SetOptions WithToken(absl::string_view value, const larder::testing::FakeClock& clock,
                     const std::string& token) {
  SetOptions options = OptionsFor(value);
  options.expires_at = clock.Now() + absl::Minutes(1);
  options.lease_token = token;
  return options;
}

// Runs `command` on `admin` and returns its reply's integer (PTTL, EXISTS, HLEN...).
long long IntegerReply(internal::RedisConnection& admin,
                       const std::vector<absl::string_view>& command) {
  absl::StatusOr<internal::RedisReply> reply = admin.Run(command);
  EXPECT_OK(reply.status());
  return reply.ok() ? internal::IntegerOf(**reply) : -100;
}

TEST(RedisLeaseTest, TwoEnginesOnOneRedisShareALease) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto first, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(auto second, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(LeaseResult granted, first->Lease("ns", "k", kLeaseTtl));
  ASSERT_EQ(granted.token.size(), 32u);
  ASSERT_OK_AND_ASSIGN(LeaseResult waiting, second->Lease("ns", "k", kLeaseTtl));
  EXPECT_TRUE(waiting.wait);
  EXPECT_TRUE(waiting.token.empty());
  // The holder may store through any replica; the lease is then consumed for all of them.
  ASSERT_OK_AND_ASSIGN(SetResult stored,
                       second->Set("ns", "k", "v", WithToken("v", clock, granted.token)));
  EXPECT_TRUE(stored.stored);
  ASSERT_OK_AND_ASSIGN(SetResult again,
                       first->Set("ns", "k", "w", WithToken("w", clock, granted.token)));
  EXPECT_FALSE(again.stored);
  EXPECT_EQ(again.etag, StrongEtagFor("v"));
  ASSERT_OK_AND_ASSIGN(LeaseResult hit, first->Lease("ns", "k", kLeaseTtl));
  ASSERT_TRUE(hit.entry.has_value());
  EXPECT_EQ(hit.entry->value, "v");
}

TEST(RedisLeaseTest, RecordsAndLeaseFilledEntriesCarryNativeExpiry) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  LeaseOptions leases;
  leases.grace = absl::Seconds(10);
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock, leases));
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  const std::string entry = BucketOfK() + "e:k", record = BucketOfK() + "l:k";
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine->Lease("ns", "k", kLeaseTtl));
  EXPECT_GT(IntegerReply(*admin, {"PTTL", record}), 4000);  // The lease's 5 s, no more.
  EXPECT_LE(IntegerReply(*admin, {"PTTL", record}), 5001);

  ASSERT_OK(engine->Set("ns", "k", "v", WithToken("v", clock, lease.token)).status());
  EXPECT_EQ(IntegerReply(*admin, {"EXISTS", record}), 0);   // Consumed: no copy of the value.
  EXPECT_GT(IntegerReply(*admin, {"PTTL", entry}), 69000);  // Its minute, plus the grace.
  EXPECT_LE(IntegerReply(*admin, {"PTTL", entry}), 70001);

  ASSERT_OK(engine->Delete("ns", "k").status());
  EXPECT_EQ(IntegerReply(*admin, {"HLEN", record}), 3);  // The stale value: v, e and s.
  EXPECT_GT(IntegerReply(*admin, {"PTTL", record}), 9000);
  EXPECT_LE(IntegerReply(*admin, {"PTTL", record}), 10001);
}

TEST(RedisLeaseTest, AnExpiredLeaseFilledEntryIsAMissForGetAndStaleForAWaiter) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine->Lease("ns", "k", kLeaseTtl));
  ASSERT_OK(engine->Set("ns", "k", "old", WithToken("old", clock, lease.token)).status());
  clock.Advance(absl::Minutes(1) + absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> miss, engine->Get("ns", "k"));
  EXPECT_FALSE(miss.has_value());  // Redis still holds it (grace), but it has expired.
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.expirations, 1);
  ASSERT_OK_AND_ASSIGN(LeaseResult next, engine->Lease("ns", "k", kLeaseTtl));
  EXPECT_FALSE(next.token.empty());
  EXPECT_FALSE(next.stale.has_value());
  ASSERT_OK_AND_ASSIGN(LeaseResult waiter, engine->Lease("ns", "k", kLeaseTtl));
  EXPECT_TRUE(waiter.wait);
  ASSERT_TRUE(waiter.stale.has_value());
  EXPECT_EQ(waiter.stale->value, "old");
  // Kept for the grace after its expiry, not after the Get that reclaimed it.
  EXPECT_EQ(waiter.stale->expires_at, clock.Now() - absl::Seconds(1) + LeaseOptions().grace);
}

TEST(RedisLeaseTest, AnInvalidateByTagThroughOneEngineVoidsTheLeasesOfAnother) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto holder, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(auto other, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, holder->Lease("ns", "k", kLeaseTtl));
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  ASSERT_OK_AND_ASSIGN(internal::RedisReply registry, admin->Run({"SMEMBERS", "larder:leased:ns"}));
  ASSERT_EQ(internal::ArraySize(*registry), 1u);
  EXPECT_EQ(internal::StringOf(internal::ElementOf(*registry, 0)),
            absl::StrCat(internal::Crc16("k") % RedisEngine::kBuckets));

  ASSERT_OK(other->Invalidate("ns", {InvalidateTarget::Kind::kTag, "unrelated"}).status());
  ASSERT_OK_AND_ASSIGN(SetResult refused,
                       holder->Set("ns", "k", "v", WithToken("v", clock, lease.token)));
  EXPECT_FALSE(refused.stored);
  ASSERT_OK_AND_ASSIGN(LeaseResult next, other->Lease("ns", "k", kLeaseTtl));
  EXPECT_FALSE(next.token.empty());  // The voided lease is not current any more.
}

TEST(RedisLeaseTest, ASetRefusedForAnExpiredTokenChangesNothing) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(LeaseResult first, engine->Lease("ns", "k", kLeaseTtl));
  clock.Advance(kLeaseTtl);
  ASSERT_OK_AND_ASSIGN(LeaseResult second, engine->Lease("ns", "k", kLeaseTtl));
  ASSERT_FALSE(second.token.empty());
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  const std::string record = BucketOfK() + "l:k";
  ASSERT_OK_AND_ASSIGN(internal::RedisReply before, admin->Run({"HGETALL", record}));

  ASSERT_OK_AND_ASSIGN(SetResult refused,
                       engine->Set("ns", "k", "late", WithToken("late", clock, first.token)));
  EXPECT_FALSE(refused.stored);
  EXPECT_EQ(refused.etag, "");
  ASSERT_OK_AND_ASSIGN(internal::RedisReply after, admin->Run({"HGETALL", record}));
  ASSERT_EQ(internal::ArraySize(*after), internal::ArraySize(*before));
  for (size_t i = 0; i < internal::ArraySize(*after); ++i) {
    EXPECT_EQ(internal::StringOf(internal::ElementOf(*after, i)),
              internal::StringOf(internal::ElementOf(*before, i)));
  }
  EXPECT_EQ(IntegerReply(*admin, {"EXISTS", BucketOfK() + "e:k"}), 0);
  ASSERT_OK_AND_ASSIGN(SetResult stored,
                       engine->Set("ns", "k", "v", WithToken("v", clock, second.token)));
  EXPECT_TRUE(stored.stored);
}

TEST(RedisLeaseTest, NoGraceKeepsNoStaleValueAndNoLongerTtl) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  LeaseOptions leases;
  leases.grace = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock, leases));
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine->Lease("ns", "k", kLeaseTtl));
  ASSERT_OK(engine->Set("ns", "k", "v", WithToken("v", clock, lease.token)).status());
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  EXPECT_LE(IntegerReply(*admin, {"PTTL", BucketOfK() + "e:k"}), 60001);
  ASSERT_OK(engine->Delete("ns", "k").status());
  EXPECT_EQ(IntegerReply(*admin, {"EXISTS", BucketOfK() + "l:k"}), 0);
  ASSERT_OK_AND_ASSIGN(LeaseResult next, engine->Lease("ns", "k", kLeaseTtl));
  EXPECT_FALSE(next.token.empty());
  ASSERT_OK_AND_ASSIGN(LeaseResult waiter, engine->Lease("ns", "k", kLeaseTtl));
  EXPECT_TRUE(waiter.wait);
  EXPECT_FALSE(waiter.stale.has_value());
}

}  // namespace
}  // namespace larder::storage

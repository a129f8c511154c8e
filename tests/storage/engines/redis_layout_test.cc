// The Redis engine's key layout at work, against real servers: a namespace's calls cost the same
// however many other keys Redis holds (no keyspace scans), tag sets drop the members of expired
// entries at the next write to them, and on a Redis Cluster a namespace spreads over every master
// while each entry's keys share one slot.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_engine.h"
#include "tests/storage/engines/redis_engine_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::RedisClusterProcess;
using ::larder::testing::RedisServerProcess;

SetOptions TaggedFor(absl::string_view value, absl::Time expires_at,
                     std::vector<std::string> tags) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.expires_at = expires_at;
  options.tags = std::move(tags);
  return options;
}

// Room for DEBUG POPULATE of a million keys, a command of its own.
constexpr absl::Duration kAdminTimeout = absl::Seconds(30);

// Commands Redis has processed so far (INFO's total_commands_processed, the INFO itself
// included).
int64_t CommandsProcessed(internal::RedisConnection& admin) {
  absl::StatusOr<internal::RedisReply> info = admin.Run({"INFO", "stats"});
  EXPECT_OK(info.status());
  if (!info.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(internal::StringOf(**info), "\r\n")) {
    int64_t count = 0;
    if (absl::ConsumePrefix(&line, "total_commands_processed:") && absl::SimpleAtoi(line, &count)) {
      return count;
    }
  }
  ADD_FAILURE() << "no total_commands_processed in INFO";
  return -1;
}

// The commands Redis processes for Stats of "small" (3 entries) and then for Invalidate of all of
// it, as {stats, invalidate}.
std::vector<int64_t> CostOfSmallNamespace(RedisEngine& engine, internal::RedisConnection& admin) {
  for (const char* key : {"a", "b", "c"}) {
    EXPECT_OK(engine.Set("small", key, "v", TaggedFor("v", absl::InfiniteFuture(), {})).status());
  }
  const int64_t before = CommandsProcessed(admin);
  absl::StatusOr<EngineStats> stats = engine.Stats("small");
  const int64_t after_stats = CommandsProcessed(admin);
  absl::StatusOr<int64_t> removed = engine.Invalidate("small", {});
  const int64_t after_invalidate = CommandsProcessed(admin);
  EXPECT_OK(stats.status());
  EXPECT_EQ(stats.ok() ? stats->entries : -1, 3);
  EXPECT_EQ(removed.ok() ? *removed : -1, 3);
  return {after_stats - before - 1, after_invalidate - after_stats - 1};
}

TEST(RedisLayoutTest, ASmallNamespaceCostsTheSameBesideAMillionOtherKeys) {
  ASSERT_OK_AND_ASSIGN(
      auto redis, RedisServerProcess::Start({.extra_args = {"--enable-debug-command", "yes"}}));
  larder::testing::FakeClock clock;
  RedisEngineOptions options;
  options.url = redis->url();
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(options, clock));
  auto admin = testing::AdminOf(*redis, kAdminTimeout);
  ASSERT_NE(admin, nullptr);
  // The layout converter's few commands (a marker read, a SCAN, a marker write) run once, on their
  // own thread; they must not fall between the counts below.
  ASSERT_TRUE(testing::ConversionEnds(*engine, absl::Seconds(30)));
  const std::vector<int64_t> alone = CostOfSmallNamespace(*engine, *admin);

  // A million keys of another namespace's bucket, as larder lays them out.
  ASSERT_OK(admin->Run({"DEBUG", "POPULATE", "1000000", "larder:{big:0}e:"}).status());
  ASSERT_OK_AND_ASSIGN(internal::RedisReply size, admin->Run({"DBSIZE"}));
  ASSERT_GE(internal::IntegerOf(*size), 1000000);
  const std::vector<int64_t> beside = CostOfSmallNamespace(*engine, *admin);

  EXPECT_EQ(beside, alone);
  // One counters read per bucket; one cardinality read per bucket, then one removal script per
  // bucket holding entries (Redis counts the commands a script runs: about 15 per entry).
  EXPECT_EQ(alone[0], RedisEngine::kBuckets);
  EXPECT_LE(alone[1], RedisEngine::kBuckets + 3 * 20);
}

// Keys of namespace "ns" that fall into one bucket.
std::vector<std::string> KeysOfOneBucket(int count) {
  std::vector<std::string> keys;
  for (int i = 0; static_cast<int>(keys.size()) < count; ++i) {
    const std::string key = absl::StrCat("key-", i);
    if (internal::Crc16(key) % RedisEngine::kBuckets == 7) keys.push_back(key);
  }
  return keys;
}

TEST(RedisLayoutTest, ATagSetDropsExpiredMembersAtTheNextWriteToIt) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  RedisEngineOptions options;
  options.url = redis->url();
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(options, clock));
  const std::vector<std::string> keys = KeysOfOneBucket(101);
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    ASSERT_OK(engine->Set("ns", keys[i], "v", TaggedFor("v", clock.Now() + absl::Minutes(1), {"t"}))
                  .status());
  }
  auto admin = testing::AdminOf(*redis, kAdminTimeout);
  ASSERT_NE(admin, nullptr);
  const std::string tag_set = "larder:{ns:7}t:t";
  ASSERT_OK_AND_ASSIGN(internal::RedisReply before, admin->Run({"ZCARD", tag_set}));
  EXPECT_EQ(internal::IntegerOf(*before), 100);

  clock.Advance(absl::Minutes(2));  // Every member has expired by larder's clock.
  ASSERT_OK(
      engine->Set("ns", keys.back(), "v", TaggedFor("v", absl::InfiniteFuture(), {"t"})).status());
  ASSERT_OK_AND_ASSIGN(internal::RedisReply after, admin->Run({"ZCARD", tag_set}));
  EXPECT_EQ(internal::IntegerOf(*after), 1);
  ASSERT_OK_AND_ASSIGN(int64_t removed,
                       engine->Invalidate("ns", {InvalidateTarget::Kind::kTag, "t"}));
  EXPECT_EQ(removed, 1);
}

TEST(RedisLayoutTest, ANamespaceSpreadsOverEveryMasterOfACluster) {
  ASSERT_OK_AND_ASSIGN(auto cluster, RedisClusterProcess::Start());
  larder::testing::FakeClock clock;
  RedisEngineOptions options;
  options.url = cluster->seed_url();
  options.mode = "cluster";
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(options, clock));
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("k", i);
    ASSERT_OK(engine->Set("ns", key, "v", TaggedFor("v", absl::InfiniteFuture(), {"t"})).status());
  }
  int masters_with_keys = 0;
  for (int i = 0; i < cluster->size(); ++i) {
    ASSERT_OK_AND_ASSIGN(std::string role, cluster->Cli(i, {"ROLE"}));
    if (!absl::StartsWith(role, "master")) continue;
    ASSERT_OK_AND_ASSIGN(std::string size, cluster->Cli(i, {"DBSIZE"}));
    int64_t keys = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(size), &keys)) << size;
    if (keys > 0) ++masters_with_keys;
  }
  EXPECT_EQ(masters_with_keys, 3);
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 300);
  ASSERT_OK_AND_ASSIGN(int64_t removed,
                       engine->Invalidate("ns", {InvalidateTarget::Kind::kTag, "t"}));
  EXPECT_EQ(removed, 300);
  ASSERT_OK_AND_ASSIGN(stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 0);
}

}  // namespace
}  // namespace larder::storage

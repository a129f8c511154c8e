// The Redis engine meeting entries a larderd of layout 1 stored (one hash per entry; layout 2
// keeps a string, server/storage/redis/redis_scripts.h), against a real redis-server: such an
// entry reads, counts, expires and is invalidated as it was written; the converter rewrites
// every one of them once, and only then lets MultiGet read with MGET.
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_engine.h"
#include "tests/storage/engines/redis_engine_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::RedisServerProcess;
using testing::AdminOf;
using testing::ConversionEnds;
using ::testing::HasSubstr;
using testing::MultiGetThroughThePipes;
using ::testing::Not;
using testing::OptionsOn;

std::string BucketOf(absl::string_view key) {
  return absl::StrCat("larder:{ns:", internal::Crc16(key) % RedisEngine::kBuckets, "}");
}

// Writes entry `key` of namespace "ns" as a larderd of layout 1 did (its Set script): the hash,
// its native TTL, its index member and counters, its tag sets, the namespace's registration.
void WriteLayout1Entry(internal::RedisConnection& admin, absl::string_view key,
                       absl::string_view value, absl::Time expires_at,
                       const std::vector<std::string>& tags) {
  const std::string bucket = BucketOf(key), entry = absl::StrCat(bucket, "e:", key);
  const std::string expiry = expires_at == absl::InfiniteFuture()
                                 ? std::string()  // Layout 1's "never".
                                 : absl::StrCat(absl::ToUnixMicros(expires_at));
  const std::string size = absl::StrCat(key.size() + value.size());
  const std::string counters = absl::StrCat(bucket, "c");
  std::vector<std::vector<std::string>> commands = {
      {"HSET", entry, std::string(value), "e", StrongEtagFor(value), "x", expiry},
      {"PEXPIRE", entry, "3600000"},
      {"ZADD", absl::StrCat(bucket, "i"), expiry.empty() ? "inf" : expiry,
       absl::StrCat(size, ":", key)},
      {"HINCRBY", counters, "n", "1"},
      {"HINCRBY", counters, "b", size},
      {"HSET", counters, "r", "1"},
      {"SADD", "larder:namespaces", "ns"}};
  commands[0].insert(commands[0].begin() + 2, "v");
  for (const std::string& tag : tags) {
    commands.push_back({"HSET", entry, absl::StrCat("#", tag), ""});
    commands.push_back({"ZADD", absl::StrCat(bucket, "t:", tag), expiry.empty() ? "inf" : expiry,
                        std::string(key)});
  }
  std::vector<std::vector<absl::string_view>> views;
  for (const std::vector<std::string>& command : commands) {
    views.emplace_back(command.begin(), command.end());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<internal::RedisReply> replies, admin.RunPipeline(views));
  for (const internal::RedisReply& reply : replies) {
    ASSERT_NE(reply->type, REDIS_REPLY_ERROR) << internal::StringOf(*reply);
  }
}

std::string TypeOf(internal::RedisConnection& admin, const std::string& key) {
  absl::StatusOr<internal::RedisReply> type = admin.Run({"TYPE", key});
  return type.ok() ? std::string(internal::StringOf(**type)) : type.status().ToString();
}

// An engine on a Redis whose conversion is already done ("larder:layout" is "2"), as after an
// upgrade; the layout 1 entries written before it are the ones an old larderd wrote since. Its
// converter does nothing, so only the calls under test convert them.
absl::StatusOr<std::unique_ptr<RedisEngine>> EngineAfterTheConversion(
    const RedisServerProcess& redis, internal::RedisConnection& admin, const Clock& clock) {
  LARDER_RETURN_IF_ERROR(admin.Run({"SET", "larder:layout", "2"}).status());
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<RedisEngine> engine,
                          RedisEngine::Create(OptionsOn(redis), clock));
  if (!ConversionEnds(*engine, absl::Seconds(5))) return absl::DeadlineExceededError("marker");
  return engine;
}

TEST(RedisUpgradeTest, ALayout1EntryReadsCountsAndInvalidatesAsWritten) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  auto admin = AdminOf(*redis);
  larder::testing::FakeClock clock;
  const absl::Time expires_at = clock.Now() + absl::Seconds(60);
  WriteLayout1Entry(*admin, "k", "old value", expires_at, {"red", "blue"});
  WriteLayout1Entry(*admin, "k2", "unread", expires_at, {"blue"});
  ASSERT_OK_AND_ASSIGN(auto engine, EngineAfterTheConversion(*redis, *admin, clock));

  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine->Get("ns", "k"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "old value");
  EXPECT_EQ(entry->etag, StrongEtagFor("old value"));
  EXPECT_EQ(entry->expires_at, expires_at);
  EXPECT_EQ(TypeOf(*admin, BucketOf("k") + "e:k"), "string");
  EXPECT_EQ(TypeOf(*admin, BucketOf("k2") + "e:k2"), "hash");  // Not met yet.
  ASSERT_OK_AND_ASSIGN(internal::RedisReply ttl, admin->Run({"PTTL", BucketOf("k") + "e:k"}));
  EXPECT_GT(internal::IntegerOf(*ttl), 3500000);  // Its native TTL kept.
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 10 + 8);  // The same index members: 1 + 9 and 2 + 6 bytes.

  // "k2" is converted inside the script, "k" was by the Get: both carry their tags.
  ASSERT_OK_AND_ASSIGN(int64_t removed,
                       engine->Invalidate("ns", {InvalidateTarget::Kind::kTag, "blue"}));
  EXPECT_EQ(removed, 2);
  ASSERT_OK_AND_ASSIGN(stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
  ASSERT_OK_AND_ASSIGN(internal::RedisReply red, admin->Run({"ZCARD", BucketOf("k") + "t:red"}));
  EXPECT_EQ(internal::IntegerOf(*red), 0);  // Removed from its other tag set too.
}

TEST(RedisUpgradeTest, ALayout1EntryTouchesDeletesAndLeasesAsWritten) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  auto admin = AdminOf(*redis);
  larder::testing::FakeClock clock;
  for (const char* key : {"touched", "deleted", "leased"}) {
    WriteLayout1Entry(*admin, key, absl::StrCat("old ", key), clock.Now() + absl::Seconds(60), {});
  }
  ASSERT_OK_AND_ASSIGN(auto engine, EngineAfterTheConversion(*redis, *admin, clock));

  const absl::Time later = clock.Now() + absl::Seconds(600);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> touched, engine->Touch("ns", "touched", later));
  EXPECT_EQ(touched, StrongEtagFor("old touched"));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine->Get("ns", "touched"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "old touched");
  EXPECT_EQ(entry->expires_at, later);
  ASSERT_OK_AND_ASSIGN(bool deleted, engine->Delete("ns", "deleted"));
  EXPECT_TRUE(deleted);
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine->Lease("ns", "leased", absl::Seconds(5)));
  ASSERT_TRUE(lease.entry.has_value());  // A live entry: no lease granted.
  EXPECT_EQ(lease.entry->value, "old leased");
  EXPECT_TRUE(lease.token.empty());
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 2);
}

TEST(RedisUpgradeTest, ALayout1EntryExpiresAndIsReplacedByItsClock) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  auto admin = AdminOf(*redis);
  larder::testing::FakeClock clock;
  WriteLayout1Entry(*admin, "k", "old", clock.Now() + absl::Seconds(10), {});
  WriteLayout1Entry(*admin, "k2", "old2", clock.Now() + absl::Seconds(10), {});
  ASSERT_OK_AND_ASSIGN(auto engine, EngineAfterTheConversion(*redis, *admin, clock));
  ASSERT_OK(engine->Set("ns", "k2", "new", testing::OptionsFor("new")).status());
  clock.Advance(absl::Seconds(11));

  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> expired, engine->Get("ns", "k"));
  EXPECT_FALSE(expired.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> replaced, engine->Get("ns", "k2"));
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->value, "new");
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 5);  // "k2" + "new".
  EXPECT_EQ(stats.expirations, 1);
}

TEST(RedisUpgradeTest, TheConverterRewritesEveryLayout1EntryAndNothingElseThenMultiGetUsesMget) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  auto admin = AdminOf(*redis);
  larder::testing::FakeClock clock;
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) {
    keys.push_back(absl::StrCat("key-", i));
    WriteLayout1Entry(*admin, keys.back(), absl::StrCat("value-", i), absl::InfiniteFuture(), {});
  }
  // Hashes the scan's pattern also matches: a lease record of a key holding "}e:", and another
  // application's key. Neither is an entry, and both stay as they are.
  const std::string record = BucketOf("x}e:y") + "l:x}e:y";
  ASSERT_OK(admin->Run({"HSET", record, "t", "token"}).status());
  ASSERT_OK(admin->Run({"HSET", "larder:{other}e:thing", "f", "1"}).status());
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));

  ASSERT_TRUE(ConversionEnds(*engine, absl::Seconds(10)));
  ASSERT_OK_AND_ASSIGN(internal::RedisReply layout, admin->Run({"GET", "larder:layout"}));
  EXPECT_EQ(internal::StringOf(*layout), "2");
  for (const std::string& key : keys) {
    EXPECT_EQ(TypeOf(*admin, BucketOf(key) + "e:" + key), "string") << key;
  }
  EXPECT_EQ(TypeOf(*admin, record), "hash");
  EXPECT_EQ(TypeOf(*admin, "larder:{other}e:thing"), "hash");
  std::vector<absl::string_view> wanted(keys.begin(), keys.end());
  wanted.push_back("absent");
  ASSERT_OK(admin->Run({"CONFIG", "RESETSTAT"}).status());
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<StoredEntry>> entries,
                       MultiGetThroughThePipes(*engine, wanted));
  ASSERT_OK_AND_ASSIGN(internal::RedisReply commands, admin->Run({"INFO", "commandstats"}));
  EXPECT_THAT(std::string(internal::StringOf(*commands)), HasSubstr("cmdstat_mget:calls=1,"));
  EXPECT_THAT(std::string(internal::StringOf(*commands)), Not(HasSubstr("cmdstat_get:")));
  ASSERT_EQ(entries.size(), wanted.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(entries[i].has_value()) << keys[i];
    EXPECT_EQ(entries[i]->value, absl::StrCat("value-", i));
    EXPECT_EQ(entries[i]->expires_at, absl::InfiniteFuture());
  }
  EXPECT_FALSE(entries.back().has_value());
}

// An old larderd still writing after the conversion (a rolling upgrade): Get and the blocking
// MultiGet convert what they meet; MultiGet through the pipes reads it as a miss (MGET says nil
// for a hash) until then, never as anything else.
TEST(RedisUpgradeTest, ALayout1EntryWrittenAfterTheConversionIsConvertedWhenMet) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  auto admin = AdminOf(*redis);
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, EngineAfterTheConversion(*redis, *admin, clock));
  WriteLayout1Entry(*admin, "a", "late a", absl::InfiniteFuture(), {});
  WriteLayout1Entry(*admin, "b", "late b", absl::InfiniteFuture(), {});
  ASSERT_OK(engine->Set("ns", "c", "c", testing::OptionsFor("c")).status());

  ASSERT_OK_AND_ASSIGN(auto through_pipes, MultiGetThroughThePipes(*engine, {"a", "b", "c"}));
  EXPECT_FALSE(through_pipes[0].has_value());
  EXPECT_FALSE(through_pipes[1].has_value());
  ASSERT_TRUE(through_pipes[2].has_value());
  EXPECT_EQ(through_pipes[2]->value, "c");
  ASSERT_OK_AND_ASSIGN(auto blocking, engine->MultiGet("ns", {"a"}));
  ASSERT_TRUE(blocking[0].has_value());
  EXPECT_EQ(blocking[0]->value, "late a");
  ASSERT_OK_AND_ASSIGN(auto async_get, testing::GetThroughThePipe(*engine, "b"));
  ASSERT_TRUE(async_get.has_value());
  EXPECT_EQ(async_get->value, "late b");
  ASSERT_OK_AND_ASSIGN(through_pipes, MultiGetThroughThePipes(*engine, {"a", "b", "c"}));
  for (const auto& entry : through_pipes) EXPECT_TRUE(entry.has_value());
}

}  // namespace
}  // namespace larder::storage

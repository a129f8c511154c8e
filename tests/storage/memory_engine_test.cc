// Memory-engine behaviour beyond the shared conformance suite: the byte budget and eviction,
// the sweeper, sharding and start-up limits.
#include "server/storage/memory/memory_engine.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::StatusIs;
using ::testing::HasSubstr;

SetOptions Options(absl::string_view value, absl::Time expires_at = absl::InfiniteFuture()) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.expires_at = expires_at;
  return options;
}

MemoryEngineOptions SmallEngine(int64_t max_bytes, int shards = 1) {
  MemoryEngineOptions options;
  options.max_bytes = max_bytes;
  options.shards = shards;
  options.max_entry_bytes = 2048;
  options.sweep_interval = absl::ZeroDuration();
  return options;
}

class MemoryEngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<MemoryEngine> Make(const MemoryEngineOptions& options) {
    auto engine = MemoryEngine::Create(options, clock_);
    EXPECT_TRUE(engine.ok()) << engine.status();
    return std::move(engine).value();
  }
  FakeClock clock_;
};

TEST_F(MemoryEngineTest, EvictsInsteadOfFailingWritesBeyondTheLimit) {
  auto engine = Make(SmallEngine(64 * 1024));
  const std::string value(1000, 'v');
  for (int i = 0; i < 500; ++i) {
    ASSERT_OK_AND_ASSIGN(SetResult result,
                         engine->Set("ns", absl::StrCat("key", i), value, Options(value)));
    EXPECT_TRUE(result.stored) << i;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats(""));
  EXPECT_GT(stats.evictions, 0);
  EXPECT_EQ(stats.entries + stats.evictions, 500);
  // Everything held fits the budget, counting the per-entry overhead.
  EXPECT_LE(stats.entries * (1000 + 6 + 34 + internal::kEntryOverheadBytes), 64 * 1024);
}

TEST_F(MemoryEngineTest, JustStoredEntryIsReadableEvenWhenTheBudgetIsTight) {
  auto engine = Make(SmallEngine(8 * 1024));
  const std::string value(1500, 'v');
  for (int i = 0; i < 50; ++i) {
    const std::string key = absl::StrCat("key", i);
    ASSERT_OK(engine->Set("ns", key, value, Options(value)));
    ASSERT_OK_AND_ASSIGN(auto entry, engine->Get("ns", key));
    EXPECT_TRUE(entry.has_value()) << key;
  }
}

TEST_F(MemoryEngineTest, FrequentlyReadEntriesSurviveAScanOfOneHitWonders) {
  auto engine = Make(SmallEngine(200 * 1024));
  const std::string value(1000, 'v');
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(engine->Set("ns", absl::StrCat("hot", i), value, Options(value)));
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) ASSERT_OK(engine->Get("ns", absl::StrCat("hot", i)));
  }
  for (int i = 0; i < 2000; ++i) {  // A scan ten times larger than the cache.
    ASSERT_OK(engine->Set("ns", absl::StrCat("cold", i), value, Options(value)));
  }
  int hot_left = 0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(auto entry, engine->Get("ns", absl::StrCat("hot", i)));
    hot_left += entry.has_value();
  }
  EXPECT_EQ(hot_left, 20);
}

TEST_F(MemoryEngineTest, SweeperReclaimsExpiredEntriesNobodyReads) {
  auto engine = Make(SmallEngine(1 << 20));
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(engine->Set("ns", absl::StrCat("short", i), "v",
                          Options("v", clock_.Now() + absl::Seconds(10))));
  }
  ASSERT_OK(engine->Set("ns", "forever", "v", Options("v")));
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(engine->SweepExpired(), 100);
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.expirations, 100);
}

TEST_F(MemoryEngineTest, SweeperDoesBoundedWorkPerTick) {
  MemoryEngineOptions options = SmallEngine(1 << 20);
  options.sweep_batch = 10;
  auto engine = Make(options);
  for (int i = 0; i < 35; ++i) {
    ASSERT_OK(engine->Set("ns", absl::StrCat("k", i), "v",
                          Options("v", clock_.Now() + absl::Seconds(1))));
  }
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(engine->SweepExpired(), 10);
  EXPECT_EQ(engine->SweepExpired(), 10);
  EXPECT_EQ(engine->SweepExpired(), 10);
  EXPECT_EQ(engine->SweepExpired(), 5);
  EXPECT_EQ(engine->SweepExpired(), 0);
}

TEST_F(MemoryEngineTest, SweeperLeavesLiveEntriesAlone) {
  auto engine = Make(SmallEngine(1 << 20));
  ASSERT_OK(engine->Set("ns", "k", "v", Options("v", clock_.Now() + absl::Minutes(5))));
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(engine->SweepExpired(), 0);
  ASSERT_OK_AND_ASSIGN(auto entry, engine->Get("ns", "k"));
  EXPECT_TRUE(entry.has_value());
}

TEST_F(MemoryEngineTest, RejectsALimitThatCannotHoldOneLargestEntry) {
  MemoryEngineOptions options = SmallEngine(1000);
  options.max_entry_bytes = 2000;
  EXPECT_THAT(MemoryEngine::Create(options, clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("memory-limit")));
}

TEST_F(MemoryEngineTest, LowersShardCountSoEachShardHoldsALargestEntry) {
  MemoryEngineOptions options = SmallEngine(10 * 2048, /*shards=*/16);
  EXPECT_EQ(Make(options)->shard_count(), 10);
  options.max_bytes = 1 << 30;
  EXPECT_EQ(Make(options)->shard_count(), 16);
}

TEST_F(MemoryEngineTest, ByteCountFollowsOverwritesAndDeletes) {
  auto engine = Make(SmallEngine(1 << 20));
  ASSERT_OK(engine->Set("ns", "key", "12345", Options("12345")));
  ASSERT_OK(engine->Set("ns", "key", "12", Options("12")));
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.bytes, 3 + 2);
  ASSERT_OK(engine->Delete("ns", "key"));
  ASSERT_OK_AND_ASSIGN(stats, engine->Stats("ns"));
  EXPECT_EQ(stats.bytes, 0);
  EXPECT_EQ(stats.entries, 0);
}

}  // namespace
}  // namespace larder::storage

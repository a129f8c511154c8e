// The memory engine's Invalidate in bounded batches: exact over many thousands of entries of one
// shard, and exact with respect to writes that land while it runs. No sleeps: a writer starts
// once it sees the first selected key gone, which happens only after the Invalidate recorded
// every shard's write sequence, so each of its writes began after the Invalidate did.
#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using Kind = InvalidateTarget::Kind;

std::string OldKey(int i) { return absl::StrCat("old:", absl::Dec(i, absl::kZeroPad6)); }

class MemoryInvalidateTest : public ::testing::Test {
 protected:
  void Make(int shards) {
    MemoryEngineOptions options;
    options.shards = shards;
    options.sweep_interval = absl::ZeroDuration();
    ASSERT_OK_AND_ASSIGN(engine_, MemoryEngine::Create(options, clock_));
  }
  void Put(absl::string_view ns, absl::string_view key, absl::string_view value,
           std::vector<std::string> tags = {}) {
    SetOptions options;
    options.etag = StrongEtagFor(value);
    options.tags = std::move(tags);
    ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set(ns, key, value, options));
    ASSERT_TRUE(result.stored);
  }
  std::string ValueOf(absl::string_view ns, absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value() ? (*entry)->value : "<miss>";
  }
  int64_t Invalidate(absl::string_view ns, Kind kind, std::string argument = "") {
    absl::StatusOr<int64_t> removed = engine_->Invalidate(ns, {kind, std::move(argument)});
    EXPECT_TRUE(removed.ok()) << removed.status();
    return removed.ok() ? *removed : -1;
  }
  // Invalidates `target` in "big" (30000 tagged "old:" keys) while this thread writes new keys
  // in the walked range and overwrites selected keys; checks that every such write survives.
  void RaceWritesAgainst(const InvalidateTarget& target);

  larder::testing::FakeClock clock_;
  std::unique_ptr<MemoryEngine> engine_;
};

TEST_F(MemoryInvalidateTest, ManyEntriesOfOneShardGoExactlyAsSelected) {
  Make(1);
  constexpr int kKeys = 20000;  // Dozens of batches.
  static_assert(kKeys > 50 * limits::kKeysPerLockedBatch);
  for (int i = 0; i < kKeys; ++i) {
    Put("big", OldKey(i), "v",
        i % 3 == 0 ? std::vector<std::string>{"three"} : std::vector<std::string>{});
  }
  Put("big", "other", "v", {"three"});
  EXPECT_EQ(Invalidate("big", Kind::kPrefix, "old:01"), 10000);
  EXPECT_EQ(Invalidate("big", Kind::kPattern, "old:00*5"), 1000);
  int tagged = 1;  // "other".
  for (int i = 0; i < 10000; ++i) tagged += i % 3 == 0 && i % 10 != 5;
  EXPECT_EQ(Invalidate("big", Kind::kTag, "three"), tagged);
  for (int i = 0; i < kKeys; ++i) {
    const bool kept = i < 10000 && i % 10 != 5 && i % 3 != 0;
    ASSERT_EQ(ValueOf("big", OldKey(i)), kept ? "v" : "<miss>") << i;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("big"));
  EXPECT_EQ(Invalidate("big", Kind::kAll), stats.entries);
  EXPECT_EQ(engine_->Usage().namespace_tables, 0);
  EXPECT_EQ(engine_->Usage().tag_sets, 0);
  EXPECT_EQ(engine_->Usage().charged_bytes, 0);
}

TEST_F(MemoryInvalidateTest, WalkResumesAcrossKeysThatArePrefixesOfOneAnother) {
  Make(1);
  constexpr int kLongest = 3 * limits::kKeysPerLockedBatch;
  for (int n = 0; n <= kLongest; ++n) Put("ns", "k" + std::string(n, '\0'), "v");
  for (int n = 1; n <= kLongest; ++n) Put("ns", "k" + std::string(n, '\xff'), "v", {"hi"});
  Put("ns", "j", "v");
  Put("ns", "l", "v");
  EXPECT_EQ(Invalidate("ns", Kind::kPrefix, std::string("k\0", 2)), kLongest);
  EXPECT_EQ(Invalidate("ns", Kind::kPattern, "k?\xff*"), kLongest - 1);
  EXPECT_EQ(Invalidate("ns", Kind::kTag, "hi"), 1);
  EXPECT_EQ(ValueOf("ns", "k"), "v");
  EXPECT_EQ(ValueOf("ns", "j"), "v");
  EXPECT_EQ(ValueOf("ns", "l"), "v");
  EXPECT_EQ(ValueOf("ns", std::string("k\0", 2)), "<miss>");
}

TEST_F(MemoryInvalidateTest, PatternOutsideItsLiteralPrefixRemovesNothing) {
  Make(2);
  for (int i = 0; i < 1000; ++i) Put("ns", absl::StrCat("user:", i), "v");
  EXPECT_EQ(Invalidate("ns", Kind::kPattern, "users*"), 0);
  EXPECT_EQ(Invalidate("ns", Kind::kPattern, "user:1?"), 10);
  EXPECT_EQ(Invalidate("ns", Kind::kPattern, "*9"), 99);
}

void MemoryInvalidateTest::RaceWritesAgainst(const InvalidateTarget& target) {
  Make(1);  // One shard: the walk starts at the smallest key, old:000000.
  constexpr int kOld = 30000;
  constexpr int kRounds = 2000;
  for (int i = 0; i < kOld; ++i) Put("big", OldKey(i), "old", {"t"});
  std::atomic<int64_t> removed{-1};
  std::thread invalidator([&] { removed = Invalidate("big", target.kind, target.argument); });
  while (ValueOf("big", OldKey(0)) != "<miss>") std::this_thread::yield();
  std::vector<std::string> written;
  for (int i = 0; i < kRounds; ++i) {
    for (std::string key : {OldKey(10 * i + 7), OldKey(10 * i + 3) + "-new"}) {
      Put("big", key, "new", {"t"});
      written.push_back(std::move(key));
    }
  }
  invalidator.join();
  EXPECT_GE(removed.load(), kOld - kRounds);  // Overwritten before their batch: not counted.
  EXPECT_LE(removed.load(), kOld);
  for (const std::string& key : written) ASSERT_EQ(ValueOf("big", key), "new") << key;
  for (int i = 0; i < kOld; ++i) {
    if (i % 10 == 7 && i < 10 * kRounds) continue;  // Overwritten: checked above.
    ASSERT_EQ(ValueOf("big", OldKey(i)), "<miss>") << i;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("big"));
  EXPECT_EQ(stats.entries, static_cast<int64_t>(written.size()));
}

TEST_F(MemoryInvalidateTest, AllKeepsWritesThatLandWhileItRuns) {
  RaceWritesAgainst({Kind::kAll, ""});
}
TEST_F(MemoryInvalidateTest, PrefixKeepsWritesThatLandWhileItRuns) {
  RaceWritesAgainst({Kind::kPrefix, "old:"});
}
TEST_F(MemoryInvalidateTest, PatternKeepsWritesThatLandWhileItRuns) {
  RaceWritesAgainst({Kind::kPattern, "old:*"});
}
TEST_F(MemoryInvalidateTest, TagKeepsWritesThatLandWhileItRuns) {
  RaceWritesAgainst({Kind::kTag, "t"});
}

TEST_F(MemoryInvalidateTest, ReadsOfAnotherNamespaceStayCorrectDuringALargeInvalidate) {
  Make(4);
  for (int i = 0; i < 40000; ++i) Put("big", OldKey(i), "v");
  for (int i = 0; i < 500; ++i) Put("other", absl::StrCat("k", i), absl::StrCat("value", i));
  std::atomic<bool> done{false};
  std::atomic<int> passes{0};
  std::thread reader([&] {
    do {
      for (int i = 0; i < 500; ++i) {
        ASSERT_EQ(ValueOf("other", absl::StrCat("k", i)), absl::StrCat("value", i));
      }
      absl::StatusOr<EngineStats> stats = engine_->Stats("other");
      ASSERT_TRUE(stats.ok());
      ASSERT_EQ(stats->entries, 500);
      ++passes;
    } while (!done);
  });
  EXPECT_EQ(Invalidate("big", Kind::kPattern, "old:*"), 40000);
  done = true;
  reader.join();
  EXPECT_GE(passes.load(), 1);
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_EQ(all.entries, 500);
}

}  // namespace
}  // namespace larder::storage

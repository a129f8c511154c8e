// The memory engine's byte budget: the entry being written is never the one evicted, and what it
// keeps per namespace and per tag is charged, bounded by the budget and dropped when it empties
// (but for a bounded, charged record of the counts of recently emptied namespaces).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::FakeClock;

SetOptions Options(absl::string_view value, std::vector<std::string> tags = {}) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.tags = std::move(tags);
  return options;
}

class MemoryBudgetTest : public ::testing::Test {
 protected:
  void Make(int64_t max_bytes, int shards) {
    MemoryEngineOptions options;
    options.max_bytes = max_bytes;
    options.shards = shards;
    options.max_entry_bytes = 2048;
    options.sweep_interval = absl::ZeroDuration();
    ASSERT_OK_AND_ASSIGN(engine_, MemoryEngine::Create(options, clock_));
  }
  std::string ValueOf(absl::string_view ns, absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value() ? (*entry)->value : "<miss>";
  }
  void ExpectWithinBudget() {
    const MemoryUsage usage = engine_->Usage();
    EXPECT_LE(usage.max_shard_charged_bytes, usage.shard_capacity_bytes);
  }

  FakeClock clock_;
  std::unique_ptr<MemoryEngine> engine_;
};

TEST_F(MemoryBudgetTest, GrowingOverwriteOfTheOldestSmallEntryEvictsAnotherOne) {
  Make(4096, 1);
  // k0 is the oldest node of the small queue and the main queue is empty.
  for (int i = 0; i < 4; ++i) {
    const std::string value(i == 0 ? 100 : 500, 'a' + i);
    ASSERT_OK(engine_->Set("ns", absl::StrCat("k", i), value, Options(value)));
  }
  ASSERT_OK_AND_ASSIGN(EngineStats before, engine_->Stats("ns"));
  ASSERT_EQ(before.evictions, 0);
  const std::string bigger(1500, 'z');
  ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set("ns", "k0", bigger, Options(bigger)));
  EXPECT_TRUE(result.stored);
  EXPECT_EQ(ValueOf("ns", "k0"), bigger);
  ASSERT_OK_AND_ASSIGN(EngineStats after, engine_->Stats("ns"));
  EXPECT_EQ(after.evictions, 1);
  EXPECT_EQ(after.entries, 3);
  EXPECT_EQ(ValueOf("ns", "k1"), "<miss>");  // The next oldest went instead.
  EXPECT_EQ(ValueOf("ns", "k3"), std::string(500, 'd'));
  ExpectWithinBudget();
}

TEST_F(MemoryBudgetTest, ManyOneEntryNamespacesStayWithinTheLimit) {
  Make(64 * 1024, 4);
  constexpr int kNamespaces = 5000;
  for (int i = 0; i < kNamespaces; ++i) {
    const std::string ns = absl::StrCat("tenant-", i);
    ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set(ns, "k", "v", Options("v")));
    ASSERT_TRUE(result.stored);
    ASSERT_EQ(ValueOf(ns, "k"), "v") << ns;
    ExpectWithinBudget();
  }
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_GT(all.evictions, 0);
  EXPECT_EQ(all.entries + all.evictions, kNamespaces);
  const MemoryUsage usage = engine_->Usage();
  EXPECT_EQ(usage.namespace_tables, all.entries);  // One entry, one table each.
  // Each table costs far more than its entry's key and value: the budget bounds the tables too.
  EXPECT_LT(usage.namespace_tables, 64 * 1024 / internal::kNamespaceOverheadBytes);
}

TEST_F(MemoryBudgetTest, ManyTagsStayWithinTheLimit) {
  Make(64 * 1024, 2);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> tags;
    for (int t = 0; t < 8; ++t) tags.push_back(absl::StrCat("tag-", i, "-", t));
    ASSERT_OK(engine_->Set("ns", absl::StrCat("k", i), "v", Options("v", tags)));
    ExpectWithinBudget();
  }
  const MemoryUsage usage = engine_->Usage();
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_EQ(usage.tag_sets, 8 * stats.entries);
  EXPECT_LT(usage.tag_sets, 64 * 1024 / internal::kTagSetOverheadBytes);
}

TEST_F(MemoryBudgetTest, EmptiedNamespacesLeaveNoBookkeeping) {
  Make(1 << 20, 4);
  for (int i = 0; i < 100; ++i) {
    const std::string ns = absl::StrCat("ns", i);
    ASSERT_OK(engine_->Set(ns, "deleted", "v", Options("v", {"red", "blue"})));
    ASSERT_OK(engine_->Set(ns, "invalidated", "v", Options("v", {"red"})));
  }
  EXPECT_GE(engine_->Usage().namespace_tables, 100);
  EXPECT_GE(engine_->Usage().tag_sets, 200);
  for (int i = 0; i < 100; ++i) {
    const std::string ns = absl::StrCat("ns", i);
    ASSERT_OK_AND_ASSIGN(bool deleted, engine_->Delete(ns, "deleted"));
    EXPECT_TRUE(deleted);
    ASSERT_OK_AND_ASSIGN(int64_t invalidated,
                         engine_->Invalidate(ns, {InvalidateTarget::Kind::kTag, "red"}));
    EXPECT_EQ(invalidated, 1);
  }
  const MemoryUsage usage = engine_->Usage();
  EXPECT_EQ(usage.namespace_tables, 0);
  EXPECT_EQ(usage.tag_sets, 0);
  EXPECT_EQ(usage.retired_namespaces, 0);  // Nothing was counted, so nothing is remembered.
  EXPECT_EQ(usage.charged_bytes, 0);
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_EQ(all.entries, 0);
  EXPECT_EQ(all.bytes, 0);
}

TEST_F(MemoryBudgetTest, ExpiredNamespacesLeaveOnlyABoundedRecordOfTheirCounts) {
  Make(16 << 20, 4);  // Room for every entry: they expire, none is evicted.
  constexpr int kNamespaces = 5000;
  for (int i = 0; i < kNamespaces; ++i) {
    SetOptions options = Options("v", {"tag"});
    options.expires_at = clock_.Now() + absl::Seconds(1);
    ASSERT_OK(engine_->Set(absl::StrCat("ns", i), "k", "v", options));
  }
  clock_.Advance(absl::Seconds(1));
  int64_t swept = 0;
  while (int64_t removed = engine_->SweepExpired()) swept += removed;
  EXPECT_EQ(swept, kNamespaces);
  const MemoryUsage usage = engine_->Usage();
  EXPECT_EQ(usage.namespace_tables, 0);
  EXPECT_EQ(usage.tag_sets, 0);
  EXPECT_GT(usage.retired_namespaces, 0);
  EXPECT_LE(usage.retired_namespaces, 4 * internal::kRetiredNamespacesPerShard);
  EXPECT_LE(usage.charged_bytes,
            usage.retired_namespaces * (internal::kRetiredNamespaceOverheadBytes + 6));
  int64_t remembered = 0;
  for (int i = 0; i < kNamespaces; ++i) {
    ASSERT_OK_AND_ASSIGN(EngineStats one, engine_->Stats(absl::StrCat("ns", i)));
    EXPECT_EQ(one.entries, 0);
    remembered += one.expirations;  // 1 while remembered, 0 once forgotten (documented).
  }
  EXPECT_EQ(remembered, usage.retired_namespaces);
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_EQ(all.expirations, kNamespaces);  // The engine-wide totals keep counting.
}

TEST_F(MemoryBudgetTest, CountsOfAnEmptiedShardTableStayWithTheNamespace) {
  Make(1 << 20, 16);
  for (int i = 0; i < 20; ++i) {  // "live" and "gone" usually land in different shards.
    const std::string ns = absl::StrCat("ns", i);
    ASSERT_OK(engine_->Set(ns, "live", "v", Options("v")));
    SetOptions expiring = Options("v");
    expiring.expires_at = clock_.Now() + absl::Seconds(1);
    ASSERT_OK(engine_->Set(ns, "gone", "v", expiring));
  }
  clock_.Advance(absl::Seconds(1));
  for (int i = 0; i < 20; ++i) {
    const std::string ns = absl::StrCat("ns", i);
    EXPECT_EQ(ValueOf(ns, "gone"), "<miss>");
    ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats(ns));
    EXPECT_EQ(stats.expirations, 1) << ns;
    ASSERT_OK(engine_->Set(ns, "gone", "back", Options("back")));  // A new table takes over.
    ASSERT_OK_AND_ASSIGN(stats, engine_->Stats(ns));
    EXPECT_EQ(stats.expirations, 1) << ns;
    EXPECT_EQ(stats.entries, 2) << ns;
  }
  EXPECT_EQ(engine_->Usage().retired_namespaces, 0);
}

TEST_F(MemoryBudgetTest, RememberedCountsGoBeforeAnyEntryIsEvicted) {
  Make(64 * 1024, 1);
  constexpr int kExpired = 80;
  for (int i = 0; i < kExpired; ++i) {
    SetOptions options = Options("v");
    options.expires_at = clock_.Now() + absl::Seconds(1);
    ASSERT_OK(engine_->Set(absl::StrCat("ns", i), "k", "v", options));
  }
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(engine_->SweepExpired(), kExpired);
  ASSERT_EQ(engine_->Usage().retired_namespaces, kExpired);
  const std::string value(1000, 'v');
  for (int i = 0; i < 45; ++i) {  // About 58 KiB of entries: fits only without the records.
    ASSERT_OK(engine_->Set("fill", absl::StrCat("key", i), value, Options(value)));
    ExpectWithinBudget();
  }
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_EQ(all.evictions, 0);
  EXPECT_EQ(all.entries, 45);
  EXPECT_LT(engine_->Usage().retired_namespaces, kExpired);
}

TEST_F(MemoryBudgetTest, StatsTotalsFollowEveryKindOfRemoval) {
  Make(1 << 20, 4);
  int64_t kept_bytes = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string key = absl::StrCat("key", i);
    ASSERT_OK(engine_->Set(absl::StrCat("ns", i % 4), key, "value", Options("value")));
    if (i != 0 && i % 4 != 1) kept_bytes += static_cast<int64_t>(key.size() + 5);
  }
  ASSERT_OK(engine_->Delete("ns0", "key0"));
  ASSERT_OK(engine_->Invalidate("ns1", {InvalidateTarget::Kind::kAll, ""}).status());
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_EQ(all.entries, 40 - 1 - 10);
  EXPECT_EQ(all.bytes, kept_bytes);
  int64_t sum_entries = 0;
  int64_t sum_bytes = 0;
  for (int n = 0; n < 4; ++n) {
    ASSERT_OK_AND_ASSIGN(EngineStats one, engine_->Stats(absl::StrCat("ns", n)));
    sum_entries += one.entries;
    sum_bytes += one.bytes;
  }
  EXPECT_EQ(sum_entries, all.entries);
  EXPECT_EQ(sum_bytes, all.bytes);
}

}  // namespace
}  // namespace larder::storage

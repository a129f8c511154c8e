// The RocksDB engine's bounded invalidation: a large Invalidate never blocks writes elsewhere,
// holds no lock between batches, and never removes an entry written after it began (rewrites
// with identical bytes included); write stamps only grow, across restarts too; rows of the
// format before stamps stay readable and removable; the expiration bookkeeping is bounded.
//
// The interleavings are made deterministic with RocksDbEngine::SetBatchHookForTesting, which
// runs between two batches on the invalidating thread; nothing sleeps.
#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "server/storage/rocksdb/rocksdb_expiry.h"
#include "server/storage/rocksdb/rocksdb_stamps.h"
#include "tests/storage/engines/rocksdb_raw_db.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {

// For gtest's messages about RocksDbInvalidateKindTest.
void PrintTo(const InvalidateTarget& target, std::ostream* out) {
  *out << "kind " << static_cast<int>(target.kind) << " \"" << target.argument << "\"";
}

namespace {

using ::larder::testing::StatusCodeIs;
using Kind = InvalidateTarget::Kind;

MATCHER_P(IsOkAndHolds, value, "is OK and holds a matching value") {
  *result_listener << "status is " << arg.status();
  return arg.ok() && *arg == value;
}

SetOptions OptionsFor(absl::string_view value, std::vector<std::string> tags = {}) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.tags = std::move(tags);
  return options;
}

std::string KeyOf(int i) { return absl::StrFormat("k%04d", i); }

class RocksDbInvalidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RocksDbEngineOptions options;
    options.path = dir_ + "/db";
    options.block_cache_bytes = 8 << 20;
    ASSERT_OK_AND_ASSIGN(engine_, RocksDbEngine::Open(options, clock_));
  }
  void TearDown() override {
    engine_.reset();
    larder::testing::RemoveTree(dir_);
  }

  // Stores `count` entries KeyOf(i) = "v" tagged "t" in `ns`, 1000 per MultiSet.
  void Fill(absl::string_view ns, int count) {
    const std::string value = "v";
    std::vector<std::string> keys;
    for (int i = 0; i < count; ++i) keys.push_back(KeyOf(i));
    for (int begin = 0; begin < count; begin += limits::kMaxBatchItems) {
      std::vector<SetItem> items;
      for (int i = begin; i < count && i < begin + limits::kMaxBatchItems; ++i) {
        items.push_back({keys[i], value, OptionsFor(value, {"t"})});
      }
      ASSERT_OK(engine_->MultiSet(ns, items).status());
    }
  }

  // The value under (ns, key), or "<miss>".
  std::string ValueOf(absl::string_view ns, absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value() ? (*entry)->value : "<miss>";
  }

  larder::testing::FakeClock clock_;
  const std::string dir_ = larder::testing::MakeTempDir("larder-rocksdb-invalidate");
  std::unique_ptr<RocksDbEngine> engine_;
};

TEST_F(RocksDbInvalidateTest, SetsOnAnotherNamespaceProceedDuringALargeInvalidation) {
  constexpr int kEntries = 50000, kWrites = 2000;
  Fill("a", kEntries);
  absl::Notification writes_started;
  std::atomic<int> batches{0};
  engine_->SetBatchHookForTesting([&] {
    // The first pause between batches lasts until the writer has stored kWrites / 4 entries,
    // which it could not do if the Invalidate held a lock it needs.
    if (batches++ == 0) {
      EXPECT_TRUE(writes_started.WaitForNotificationWithTimeout(absl::Minutes(1)));
    }
  });
  absl::StatusOr<int64_t> removed;
  std::thread invalidator([&] { removed = engine_->Invalidate("a", {Kind::kAll, ""}); });
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      const std::string value = absl::StrCat("b-", i);
      EXPECT_OK(engine_->Set("b", KeyOf(i), value, OptionsFor(value)).status());
      if (i + 1 == kWrites / 4) writes_started.Notify();
    }
  });
  invalidator.join();
  writer.join();
  ASSERT_OK(removed.status());
  EXPECT_EQ(*removed, kEntries);
  EXPECT_GE(batches.load(), kEntries / limits::kKeysPerLockedBatch);
  for (int i = 0; i < kWrites; ++i) ASSERT_EQ(ValueOf("b", KeyOf(i)), absl::StrCat("b-", i));
  ASSERT_OK_AND_ASSIGN(EngineStats a, engine_->Stats("a"));
  EXPECT_EQ(a.entries, 0);
  ASSERT_OK_AND_ASSIGN(EngineStats b, engine_->Stats("b"));
  EXPECT_EQ(b.entries, kWrites);
}

class RocksDbInvalidateKindTest : public RocksDbInvalidateTest,
                                  public ::testing::WithParamInterface<InvalidateTarget> {};

TEST_P(RocksDbInvalidateKindTest, EntriesWrittenAfterItBeganSurviveEvenWithIdenticalBytes) {
  Fill("ns", 1000);  // k0000..k0999, "v", tagged "t".
  const std::string value = "v";
  int calls = 0;
  engine_->SetBatchHookForTesting([&] {
    if (calls++ > 0) return;
    // After the first batch (k0000..k0255 removed), with no lock held: rewrite with the same
    // bytes an entry already removed, two not reached yet and a new one; touch and delete two
    // not reached yet.
    EXPECT_OK(engine_->Set("ns", KeyOf(0), value, OptionsFor(value, {"t"})).status());
    EXPECT_OK(engine_->Set("ns", KeyOf(999), value, OptionsFor(value, {"t"})).status());
    const std::vector<SetItem> items = {{"k0500", value, OptionsFor(value, {"t"})},
                                        {"k0999x", value, OptionsFor(value, {"t"})}};
    EXPECT_OK(engine_->MultiSet("ns", items).status());
    EXPECT_OK(engine_->Touch("ns", KeyOf(998), absl::InfiniteFuture()).status());
    EXPECT_THAT(engine_->Delete("ns", KeyOf(997)), IsOkAndHolds(true));
  });
  // 1000 minus k0500 and k0999 (rewritten) and k0997 (deleted); the touched k0998 goes.
  ASSERT_OK_AND_ASSIGN(int64_t removed, engine_->Invalidate("ns", GetParam()));
  EXPECT_EQ(removed, 997);
  engine_->SetBatchHookForTesting(nullptr);
  for (const std::string key : {"k0000", "k0500", "k0999", "k0999x"}) {
    EXPECT_EQ(ValueOf("ns", key), "v") << key;
  }
  for (const std::string key : {"k0001", "k0256", "k0997", "k0998"}) {
    EXPECT_EQ(ValueOf("ns", key), "<miss>") << key;
  }
  // The survivors kept their tag-index rows.
  ASSERT_OK_AND_ASSIGN(removed, engine_->Invalidate("ns", GetParam()));
  EXPECT_EQ(removed, 4);
}

std::string KindName(const ::testing::TestParamInfo<InvalidateTarget>& info) {
  switch (info.param.kind) {
    case Kind::kAll:
      return "All";
    case Kind::kPrefix:
      return "Prefix";
    case Kind::kPattern:
      return "Pattern";
    case Kind::kTag:
      return "Tag";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Kinds, RocksDbInvalidateKindTest,
                         ::testing::Values(InvalidateTarget{Kind::kAll, ""},
                                           InvalidateTarget{Kind::kPrefix, "k0"},
                                           InvalidateTarget{Kind::kPattern, "k0*"},
                                           InvalidateTarget{Kind::kTag, "t"}),
                         KindName);

TEST_F(RocksDbInvalidateTest, StatsHoldsNoLockWhileItScans) {
  Fill("ns", 3 * limits::kKeysPerLockedBatch);
  int calls = 0;
  engine_->SetBatchHookForTesting([&] {
    // Writes to the namespace being scanned, from the scanning thread: a held lock would
    // deadlock here.
    ++calls;
    EXPECT_OK(engine_->Set("ns", KeyOf(calls), "w", OptionsFor("w")).status());
    EXPECT_OK(engine_->Delete("ns", KeyOf(1000 + calls)).status());
  });
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(stats.entries, 3 * limits::kKeysPerLockedBatch);
}

TEST_F(RocksDbInvalidateTest, ConcurrentBatchesAndSingleWritesNeverDeadlock) {
  // MultiSets over the same keys in opposite orders, single Sets and Invalidates, at once.
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(KeyOf(i));
  auto multi_set = [&](bool reversed) {
    std::vector<SetItem> items;
    for (int i = 0; i < 300; ++i)
      items.push_back({keys[reversed ? 299 - i : i], "m", OptionsFor("m")});
    for (int round = 0; round < 20; ++round) EXPECT_OK(engine_->MultiSet("ns", items).status());
  };
  std::vector<std::thread> threads;
  threads.emplace_back(multi_set, false);
  threads.emplace_back(multi_set, true);
  threads.emplace_back([&] {
    for (int i = 0; i < 2000; ++i)
      EXPECT_OK(engine_->Set("ns", keys[i % 300], "s", OptionsFor("s")).status());
  });
  threads.emplace_back([&] {
    for (int round = 0; round < 20; ++round) EXPECT_OK(engine_->Invalidate("ns", {}).status());
  });
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK(engine_->Invalidate("ns", {}).status());
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_EQ(stats.entries, 0);
}

TEST_F(RocksDbInvalidateTest, RowsWithoutStampsAreReadTouchedAndInvalidated) {
  engine_.reset();
  {
    testing::RawDb raw(dir_ + "/db");
    const int64_t never = internal::kNeverExpiresMicros;
    for (const std::string key : {"a", "b", "c"}) {
      raw.Put(testing::RawDb::kEntries, internal::EntryKey("old", key),
              testing::Format1Row(never, StrongEtagFor(key), {"t"}, key));
      raw.Put(testing::RawDb::kTags, internal::TagRowKey("old", "t", key),
              internal::EncodeExpiry(never));
    }
  }
  SetUp();
  EXPECT_EQ(ValueOf("old", "a"), "a");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> etag,
                       engine_->Touch("old", "b", clock_.Now() + absl::Hours(1)));
  EXPECT_EQ(etag, StrongEtagFor("b"));
  ASSERT_OK(engine_->Set("old", "c", "new", OptionsFor("new")).status());  // Now a stamped row.
  ASSERT_OK_AND_ASSIGN(int64_t tagged, engine_->Invalidate("old", {Kind::kTag, "t"}));
  EXPECT_EQ(tagged, 2);
  EXPECT_EQ(ValueOf("old", "c"), "new");
  ASSERT_OK_AND_ASSIGN(int64_t all, engine_->Invalidate("old", {}));
  EXPECT_EQ(all, 1);
}

TEST_F(RocksDbInvalidateTest, StampsGrowAcrossReopens) {
  engine_.reset();
  uint64_t last = 0;
  for (int open = 1; open <= 3; ++open) {
    testing::RawDb raw(dir_ + "/db");
    ASSERT_OK_AND_ASSIGN(auto stamps, internal::StampAllocator::Open(
                                          raw.db(), raw.family(testing::RawDb::kDefault)));
    EXPECT_GT(stamps->Horizon(), last);
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK_AND_ASSIGN(uint64_t stamp, stamps->Next());
      EXPECT_GT(stamp, last);
      last = stamp;
    }
    EXPECT_GT(stamps->Horizon(), last);
    EXPECT_THAT(internal::ReadStampEpoch(raw.db(), raw.family(testing::RawDb::kDefault)),
                IsOkAndHolds(static_cast<uint64_t>(open + 1)));  // SetUp's engine took epoch 1.
  }
}

TEST_F(RocksDbInvalidateTest, ExhaustedEpochsAreRefusedForGood) {
  engine_.reset();
  testing::RawDb raw(dir_ + "/db");
  rocksdb::ColumnFamilyHandle* family = raw.family(testing::RawDb::kDefault);
  ASSERT_OK(internal::WriteStampEpoch(raw.db(), family, internal::StampAllocator::kMaxEpoch - 1));
  EXPECT_THAT(internal::StampAllocator::Open(raw.db(), family),
              StatusCodeIs(absl::StatusCode::kInternal));
  raw.Put(testing::RawDb::kDefault, internal::kStampEpochRow, "short");
  EXPECT_THAT(internal::StampAllocator::Open(raw.db(), family),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(RocksDbExpirationCounterTest, KeepsAtMostItsCapOfNamespaces) {
  internal::ExpirationCounter counter(/*max_namespaces=*/2);
  counter.Add("a");
  counter.Add("b", 2);
  counter.Add("c", 3);  // Beyond the cap: only in the total.
  counter.Add("a");
  EXPECT_EQ(counter.Get("a"), 2);
  EXPECT_EQ(counter.Get("b"), 2);
  EXPECT_EQ(counter.Get("c"), 0);
  EXPECT_EQ(counter.Get(""), 7);
}

}  // namespace
}  // namespace larder::storage

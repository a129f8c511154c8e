// What the RocksDB engine promises beyond the conformance suite: entries survive a reopen, the
// data directory is locked and its problems are named, and compaction reclaims the disk rows of
// expired entries.
#include "server/storage/rocksdb/rocksdb_engine.h"

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "rocksdb/db.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

SetOptions OptionsFor(absl::string_view value, absl::Time expires_at = absl::InfiniteFuture(),
                      std::vector<std::string> tags = {}) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.expires_at = expires_at;
  options.tags = std::move(tags);
  return options;
}

// Rows in each column family, read with RocksDB itself after the engine has closed.
struct RawRowCounts {
  int entries = 0;
  int tags = 0;
};

RawRowCounts CountRawRows(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                           {internal::kEntriesColumnFamily, {}},
                                                           {internal::kTagsColumnFamily, {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, families, &handles, &raw);
  EXPECT_TRUE(status.ok()) << status.ToString();
  RawRowCounts counts;
  if (!status.ok()) return counts;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (int* count : {&counts.entries, &counts.tags}) {
    rocksdb::ColumnFamilyHandle* family = handles[count == &counts.entries ? 1 : 2];
    std::unique_ptr<rocksdb::Iterator> rows(db->NewIterator(rocksdb::ReadOptions(), family));
    for (rows->SeekToFirst(); rows->Valid(); rows->Next()) ++*count;
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
  }
  return counts;
}

class RocksDbEngineTest : public ::testing::Test {
 protected:
  void TearDown() override { larder::testing::RemoveTree(dir_); }

  absl::StatusOr<std::unique_ptr<RocksDbEngine>> Open(Compression compression = Compression::kLz4) {
    RocksDbEngineOptions options;
    options.path = dir_ + "/db";
    options.block_cache_bytes = 4 << 20;
    options.compression = compression;
    return RocksDbEngine::Open(options, clock_);
  }

  larder::testing::FakeClock clock_;
  const std::string dir_ = larder::testing::MakeTempDir("larder-rocksdb-engine");
};

TEST_F(RocksDbEngineTest, ReopenedDatabaseKeepsEntriesTagsAndExpiry) {
  const absl::Time expires_at = clock_.Now() + absl::Minutes(5);
  {
    ASSERT_OK_AND_ASSIGN(auto engine, Open());
    ASSERT_OK(engine->Set("users", "42", "alice", OptionsFor("alice", expires_at, {"t"})).status());
    ASSERT_OK(engine->Set("users", "43", "bob", OptionsFor("bob")).status());
  }
  ASSERT_OK_AND_ASSIGN(auto engine, Open());
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine->Get("users", "42"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "alice");
  EXPECT_EQ(entry->etag, StrongEtagFor("alice"));
  EXPECT_EQ(entry->expires_at, expires_at);
  ASSERT_OK_AND_ASSIGN(int64_t tagged,
                       engine->Invalidate("users", {InvalidateTarget::Kind::kTag, "t"}));
  EXPECT_EQ(tagged, 1);
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("users"));
  EXPECT_EQ(stats.entries, 1);
}

TEST_F(RocksDbEngineTest, SecondEngineOnTheSameDirectoryIsToldItIsLocked) {
  ASSERT_OK_AND_ASSIGN(auto first, Open());
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr(dir_ + "/db"), HasSubstr("locked"))));
}

TEST_F(RocksDbEngineTest, DirectoryThatCannotBeCreatedIsNamed) {
  std::ofstream(dir_ + "/file") << "not a directory";
  RocksDbEngineOptions options;
  options.path = dir_ + "/file/db";
  EXPECT_THAT(RocksDbEngine::Open(options, clock_),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(dir_ + "/file/db")));
}

TEST_F(RocksDbEngineTest, MissingDirectoryIsInvalidArgument) {
  EXPECT_THAT(RocksDbEngine::Open(RocksDbEngineOptions{}, clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data directory")));
}

TEST_F(RocksDbEngineTest, EveryCompressionChoiceStoresAndReads) {
  for (Compression compression : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    ASSERT_OK_AND_ASSIGN(auto engine, Open(compression));
    const std::string value(10000, 'z');
    ASSERT_OK(engine->Set("c", "k", value, OptionsFor(value)).status());
    ASSERT_OK(engine->CompactAll());
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine->Get("c", "k"));
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->value, value);
  }
}

TEST_F(RocksDbEngineTest, CompactionDropsTheRowsOfExpiredEntries) {
  {
    ASSERT_OK_AND_ASSIGN(auto engine, Open());
    for (int i = 0; i < 300; ++i) {
      const absl::Time expires_at =
          i < 250 ? clock_.Now() + absl::Seconds(10) : absl::InfiniteFuture();
      ASSERT_OK(engine->Set("ns", absl::StrCat("k", i), "v", OptionsFor("v", expires_at, {"t"}))
                    .status());
    }
    ASSERT_OK(engine->CompactAll());
    clock_.Advance(absl::Seconds(10));
    ASSERT_OK(engine->CompactAll());
    ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
    EXPECT_EQ(stats.entries, 50);
    EXPECT_EQ(stats.expirations, 250);
  }
  RawRowCounts rows = CountRawRows(dir_ + "/db");
  EXPECT_EQ(rows.entries, 50);
  EXPECT_EQ(rows.tags, 50);
}

TEST_F(RocksDbEngineTest, InvalidationCountsExactlyAcrossBatches) {
  ASSERT_OK_AND_ASSIGN(auto engine, Open());
  for (int i = 0; i < 2500; ++i) {
    ASSERT_OK(engine
                  ->Set("big", absl::StrCat("a", i), "v",
                        OptionsFor("v", absl::InfiniteFuture(), {"even"}))
                  .status());
    ASSERT_OK(engine->Set("big", absl::StrCat("b", i), "v", OptionsFor("v")).status());
  }
  ASSERT_OK_AND_ASSIGN(int64_t prefix,
                       engine->Invalidate("big", {InvalidateTarget::Kind::kPrefix, "a"}));
  EXPECT_EQ(prefix, 2500);
  ASSERT_OK_AND_ASSIGN(int64_t tagged,
                       engine->Invalidate("big", {InvalidateTarget::Kind::kTag, "even"}));
  EXPECT_EQ(tagged, 0);
  ASSERT_OK_AND_ASSIGN(int64_t all, engine->Invalidate("big", {}));
  EXPECT_EQ(all, 2500);
  engine.reset();
  RawRowCounts rows = CountRawRows(dir_ + "/db");
  EXPECT_EQ(rows.entries, 0);
  EXPECT_EQ(rows.tags, 0);
}

}  // namespace
}  // namespace larder::storage

// Test helpers that reach under the RocksDB engine: its database opened directly (while no
// engine has it open) to write rows the engine would never write, and rows in the format of
// older larder builds.
//
//   { RawDb raw(path); raw.Put(RawDb::kEntries, internal::EntryKey("ns", "k"), "garbage"); }
//   auto engine = RocksDbEngine::Open(options, clock);   // now finds the bad row
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/storage/rocksdb/rocksdb_codec.h"

namespace larder::storage::testing {

// An entry row in format 1, as larder wrote it before write stamps:
// expiry | 0x01 | etag | tag count | tags | value.
inline std::string Format1Row(int64_t expiry, absl::string_view etag,
                              const std::vector<std::string>& tags, absl::string_view value) {
  std::string row = internal::EncodeExpiry(expiry);
  auto put32 = [&row](uint32_t n) {
    for (int i = 0; i < 4; ++i) row.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  };
  row.push_back('\x01');
  put32(static_cast<uint32_t>(etag.size()));
  row.append(etag.data(), etag.size());
  put32(static_cast<uint32_t>(tags.size()));
  for (const std::string& tag : tags) {
    put32(static_cast<uint32_t>(tag.size()));
    row += tag;
  }
  row.append(value.data(), value.size());
  return row;
}

// The engine's database (default, entries and tags column families), opened read-write.
class RawDb {
 public:
  enum Family { kDefault = 0, kEntries = 1, kTags = 2 };

  explicit RawDb(const std::string& path) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}},
        {internal::kEntriesColumnFamily, {}},
        {internal::kTagsColumnFamily, {}}};
    rocksdb::DB* db = nullptr;
    rocksdb::Status status = rocksdb::DB::Open(options, path, families, &handles_, &db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    db_.reset(db);
  }
  ~RawDb() {
    if (db_ == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      EXPECT_TRUE(db_->DestroyColumnFamilyHandle(handle).ok());
    }
    EXPECT_TRUE(db_->Close().ok());
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool ok() const { return db_ != nullptr; }
  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* family(Family family) { return handles_[family]; }

  void Put(Family family, absl::string_view key, absl::string_view value) {
    ASSERT_TRUE(ok());
    rocksdb::Status status =
        db_->Put(rocksdb::WriteOptions(), handles_[family], rocksdb::Slice(key.data(), key.size()),
                 rocksdb::Slice(value.data(), value.size()));
    EXPECT_TRUE(status.ok()) << status.ToString();
  }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace larder::storage::testing

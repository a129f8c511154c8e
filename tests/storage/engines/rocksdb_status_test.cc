// How the RocksDB engine reports failures: each RocksDB status maps to the code the engine
// contract names (I/O trouble kUnavailable, corruption kDataLoss, refusals kInternal), and data
// that cannot be read, a corrupted SST file or a row that does not decode, answers DATA_LOSS
// end to end. A MultiSet that meets such a row stores nothing.
#include "server/storage/rocksdb/rocksdb_status.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "tests/storage/engines/rocksdb_raw_db.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

MATCHER_P(IsOkAndHolds, value, "is OK and holds a matching value") {
  *result_listener << "status is " << arg.status();
  return arg.ok() && *arg == value;
}

struct MappingCase {
  rocksdb::Status status;
  Code expected;
};

TEST(RocksDbStatusTest, EachRocksDbStatusMapsToTheContractCode) {
  const std::vector<MappingCase> cases = {
      {rocksdb::Status::OK(), Code::kOk},
      {rocksdb::Status::Corruption("block checksum mismatch"), Code::kDataLoss},
      {rocksdb::Status::IOError("read failed"), Code::kUnavailable},
      {rocksdb::Status::NoSpace("disk full"), Code::kUnavailable},
      {rocksdb::Status::Busy("write conflict"), Code::kUnavailable},
      {rocksdb::Status::TimedOut("lock"), Code::kUnavailable},
      {rocksdb::Status::TryAgain("stall"), Code::kUnavailable},
      {rocksdb::Status::Incomplete("iterator"), Code::kUnavailable},
      {rocksdb::Status::Aborted("manual compaction"), Code::kUnavailable},
      {rocksdb::Status::ShutdownInProgress("closing"), Code::kUnavailable},
      {rocksdb::Status::NotSupported("option"), Code::kInternal},
      {rocksdb::Status::InvalidArgument("column family"), Code::kInternal},
      {rocksdb::Status::ColumnFamilyDropped("entries"), Code::kInternal},
      {rocksdb::Status::NotFound("unexpected"), Code::kInternal},
  };
  for (const MappingCase& test : cases) {
    EXPECT_EQ(internal::CodeOf(test.status), test.expected) << test.status.ToString();
    absl::Status converted = internal::FromRocksDb(test.status, "read");
    EXPECT_EQ(converted.code(), test.expected) << test.status.ToString();
    if (!test.status.ok()) {
      EXPECT_THAT(std::string(converted.message()),
                  AllOf(HasSubstr("rocksdb: read: "), HasSubstr(test.status.ToString())));
    }
  }
}

SetOptions OptionsFor(absl::string_view value) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  return options;
}

class RocksDbDataLossTest : public ::testing::Test {
 protected:
  void TearDown() override { larder::testing::RemoveTree(dir_); }

  absl::StatusOr<std::unique_ptr<RocksDbEngine>> Open() {
    RocksDbEngineOptions options;
    options.path = path_;
    options.block_cache_bytes = 4 << 20;
    options.compression = Compression::kNone;
    return RocksDbEngine::Open(options, clock_);
  }

  // Writes a row no larder build can decode under (ns, key), with no engine open.
  void PutUndecodableRow(absl::string_view ns, absl::string_view key) {
    testing::RawDb raw(path_);
    raw.Put(testing::RawDb::kEntries, internal::EntryKey(ns, key), "not an entry row");
  }

  larder::testing::FakeClock clock_;
  const std::string dir_ = larder::testing::MakeTempDir("larder-rocksdb-status");
  const std::string path_ = dir_ + "/db";
};

TEST_F(RocksDbDataLossTest, UndecodableRowIsDataLossForEveryCallThatReadsIt) {
  PutUndecodableRow("ns", "bad");
  ASSERT_OK_AND_ASSIGN(auto engine, Open());
  EXPECT_THAT(engine->Get("ns", "bad"), StatusIs(Code::kDataLoss, HasSubstr("\"ns\"")));
  EXPECT_THAT(engine->MultiGet("ns", {"ok", "bad"}), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Set("ns", "bad", "v", OptionsFor("v")), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Delete("ns", "bad"), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Touch("ns", "bad", absl::InfiniteFuture()), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Invalidate("ns", {}), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Stats("ns"), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Get("other", "bad"), IsOkAndHolds(std::nullopt));
}

TEST_F(RocksDbDataLossTest, MultiSetMeetingAnUndecodableRowStoresNothing) {
  PutUndecodableRow("ns", "bad");
  ASSERT_OK_AND_ASSIGN(auto engine, Open());
  ASSERT_OK(engine->Set("ns", "existing", "old", OptionsFor("old")).status());
  SetOptions tagged = OptionsFor("v");
  tagged.tags = {"t"};
  const std::vector<SetItem> items = {{"first", "v", tagged},
                                      {"existing", "v", tagged},
                                      {"bad", "v", tagged},
                                      {"last", "v", tagged}};
  EXPECT_THAT(engine->MultiSet("ns", items), StatusCodeIs(Code::kDataLoss));
  EXPECT_THAT(engine->Get("ns", "first"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(engine->Get("ns", "last"), IsOkAndHolds(std::nullopt));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> existing, engine->Get("ns", "existing"));
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->value, "old");
  // No tag row of the batch was written either.
  EXPECT_THAT(engine->Invalidate("ns", {InvalidateTarget::Kind::kTag, "t"}), IsOkAndHolds(0));
}

// The largest .sst file under `path`.
std::string LargestSstFile(const std::string& path) {
  std::string largest;
  uintmax_t largest_size = 0;
  for (const auto& file : std::filesystem::directory_iterator(path)) {
    if (file.path().extension() != ".sst" || file.file_size() <= largest_size) continue;
    largest = file.path().string();
    largest_size = file.file_size();
  }
  return largest;
}

TEST_F(RocksDbDataLossTest, CorruptedSstFileIsDataLossNotUnavailable) {
  std::string value(100000, '\0');
  std::mt19937 random(7);
  for (char& c : value) c = static_cast<char>(random());
  {
    ASSERT_OK_AND_ASSIGN(auto engine, Open());
    ASSERT_OK(engine->Set("ns", "big", value, OptionsFor(value)).status());
    ASSERT_OK(engine->CompactAll());  // Flushes the row into an SST file.
  }
  const std::string sst = LargestSstFile(path_);
  ASSERT_FALSE(sst.empty());
  {
    std::fstream file(sst, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(value.size() / 2);  // Inside the data block holding the value.
    const char flipped[4] = {'\x5a', '\xa5', '\x5a', '\xa5'};
    file.write(flipped, sizeof(flipped));
    ASSERT_TRUE(file.good());
  }
  ASSERT_OK_AND_ASSIGN(auto engine, Open());
  EXPECT_THAT(engine->Get("ns", "big"), StatusIs(Code::kDataLoss, AllOf(HasSubstr("rocksdb: read"),
                                                                        HasSubstr("Corruption"))));
  EXPECT_THAT(engine->MultiGet("ns", {"big"}), StatusCodeIs(Code::kDataLoss));
}

}  // namespace
}  // namespace larder::storage

// The RocksDB engine's row layout: entry rows round-trip (rows of the older format without a
// write stamp included), and key ranges never leak across namespaces, prefixes or tags.
#include "server/storage/rocksdb/rocksdb_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/storage/engines/rocksdb_raw_db.h"

namespace larder::storage::internal {
namespace {

using ::larder::storage::testing::Format1Row;

TEST(RocksDbCodecTest, EntryRowRoundTripsEveryField) {
  const std::vector<std::string> tags = {"red", std::string("b\0g", 3), ""};
  const std::string value("v\0\xff", 3);
  const uint64_t stamp = (uint64_t{7} << 40) | 0xff00ff;
  const std::string row = EncodeEntry(
      {.expires_at_micros = 1234, .etag = "\"e\"", .tags = &tags, .value = value, .stamp = stamp});
  std::optional<EntryView> view = DecodeEntry(row);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->expires_at_micros, 1234);
  EXPECT_EQ(view->stamp, stamp);
  EXPECT_EQ(view->etag, "\"e\"");
  ASSERT_EQ(view->tags.size(), 3u);
  EXPECT_EQ(view->tags[1], tags[1]);
  EXPECT_EQ(view->value, value);
  EXPECT_EQ(ReadExpiry(row), 1234);
}

TEST(RocksDbCodecTest, Format1RowDecodesWithStampZero) {
  const std::string row = Format1Row(99, "\"old\"", {"a", "bc"}, std::string("v\0", 2));
  std::optional<EntryView> view = DecodeEntry(row);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->stamp, 0u);
  EXPECT_EQ(view->expires_at_micros, 99);
  EXPECT_EQ(view->etag, "\"old\"");
  ASSERT_EQ(view->tags.size(), 2u);
  EXPECT_EQ(view->tags[1], "bc");
  EXPECT_EQ(view->value, std::string("v\0", 2));
}

TEST(RocksDbCodecTest, UnknownFormatDoesNotDecode) {
  std::string row = EncodeEntry({.etag = "\"e\"", .value = "v", .stamp = 1});
  row[kExpiryBytes] = 3;
  EXPECT_FALSE(DecodeEntry(row).has_value());
}

TEST(RocksDbCodecTest, TruncatedRowDoesNotDecode) {
  const std::vector<std::string> tags = {"red"};
  const std::string row = EncodeEntry({.etag = "\"e\"", .tags = &tags, .value = "v"});
  for (size_t size = 0; size < row.size() - 1; ++size) {
    EXPECT_FALSE(DecodeEntry(row.substr(0, size)).has_value()) << size;
  }
}

TEST(RocksDbCodecTest, RewriteExpiryChangesOnlyTheExpiry) {
  std::string row =
      EncodeEntry({.expires_at_micros = 1, .etag = "\"e\"", .value = "v", .stamp = 42});
  RewriteExpiry(row, kNeverExpiresMicros);
  std::optional<EntryView> view = DecodeEntry(row);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(ExpiryTime(view->expires_at_micros), absl::InfiniteFuture());
  EXPECT_EQ(view->value, "v");
  EXPECT_EQ(view->stamp, 42u);
  std::string old_row = Format1Row(1, "\"e\"", {}, "v");
  RewriteExpiry(old_row, 5);
  EXPECT_EQ(DecodeEntry(old_row)->expires_at_micros, 5);
}

TEST(RocksDbCodecTest, NamespaceRangeHoldsOnlyItsOwnKeys) {
  const std::string begin = PrefixBegin("a", ""), end = PrefixEnd("a", "");
  for (const std::string& inside :
       {EntryKey("a", ""), EntryKey("a", "\xff\xff"), EntryKey("a", std::string("\0", 1))}) {
    EXPECT_TRUE(begin <= inside && inside < end);
  }
  for (const std::string& outside :
       {EntryKey("a.b", "k"), EntryKey("ab", ""), EntryKey("a-", "k"), EntryKey("", "a")}) {
    EXPECT_FALSE(begin <= outside && outside < end) << outside;
  }
}

TEST(RocksDbCodecTest, PrefixRangeEndsJustPastThePrefix) {
  EXPECT_EQ(PrefixEnd("n", "ab"), EntryKey("n", "ac"));
  EXPECT_EQ(PrefixEnd("n", "a\xff"), EntryKey("n", "b"));
  EXPECT_EQ(PrefixEnd("n", "\xff\xff"), PrefixEnd("n", ""));
  EXPECT_LT(EntryKey("n", "a\xff\xff\xff"), PrefixEnd("n", "a\xff"));
}

TEST(RocksDbCodecTest, TagRangesOfDifferentTagsDoNotOverlap) {
  const std::string row = TagRowKey("n", "ab", "key");
  EXPECT_TRUE(TagRangeBegin("n", "ab") <= row && row < TagRangeEnd("n", "ab"));
  EXPECT_FALSE(TagRangeBegin("n", "a") <= row && row < TagRangeEnd("n", "a"));
  EXPECT_EQ(KeyOfTagRow(row, "n", "ab"), "key");
}

}  // namespace
}  // namespace larder::storage::internal

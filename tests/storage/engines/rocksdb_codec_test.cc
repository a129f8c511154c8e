// The RocksDB engine's row layout: entry rows round-trip, and key ranges never leak across
// namespaces, prefixes or tags.
#include "server/storage/rocksdb/rocksdb_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace larder::storage::internal {
namespace {

TEST(RocksDbCodecTest, EntryRowRoundTripsEveryField) {
  const std::vector<std::string> tags = {"red", std::string("b\0g", 3), ""};
  const std::string value("v\0\xff", 3);
  const std::string row =
      EncodeEntry({.expires_at_micros = 1234, .etag = "\"e\"", .tags = &tags, .value = value});
  std::optional<EntryView> view = DecodeEntry(row);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->expires_at_micros, 1234);
  EXPECT_EQ(view->etag, "\"e\"");
  ASSERT_EQ(view->tags.size(), 3u);
  EXPECT_EQ(view->tags[1], tags[1]);
  EXPECT_EQ(view->value, value);
  EXPECT_EQ(ReadExpiry(row), 1234);
}

TEST(RocksDbCodecTest, TruncatedRowDoesNotDecode) {
  const std::vector<std::string> tags = {"red"};
  const std::string row = EncodeEntry({.etag = "\"e\"", .tags = &tags, .value = "v"});
  for (size_t size = 0; size < row.size() - 1; ++size) {
    EXPECT_FALSE(DecodeEntry(row.substr(0, size)).has_value()) << size;
  }
}

TEST(RocksDbCodecTest, RewriteExpiryChangesOnlyTheExpiry) {
  std::string row = EncodeEntry({.expires_at_micros = 1, .etag = "\"e\"", .value = "v"});
  RewriteExpiry(row, kNeverExpiresMicros);
  std::optional<EntryView> view = DecodeEntry(row);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(ExpiryTime(view->expires_at_micros), absl::InfiniteFuture());
  EXPECT_EQ(view->value, "v");
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

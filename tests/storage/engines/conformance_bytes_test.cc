// Conformance of every storage engine: keys, prefixes, patterns and tags are bytes. NUL, 0xff,
// invalid UTF-8 and keys of exactly limits::kMaxKeyBytes round-trip exactly through every call.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Kind = InvalidateTarget::Kind;

// The bytes of a string literal, embedded NULs included.
template <size_t N>
std::string Bytes(const char (&text)[N]) {
  return std::string(text, N - 1);
}

const std::string kLongKey(limits::kMaxKeyBytes, 'k');

// Keys that differ only in bytes a text-minded engine might drop, truncate or normalise.
std::vector<std::string> OddKeys() {
  return {Bytes("\0"),
          Bytes("a"),
          Bytes("a\0"),
          Bytes("a\0b"),
          Bytes("\xff"),
          Bytes("\xff\xff\0\xff"),
          Bytes("\xc3\x28"),          // Invalid UTF-8: a lead byte without continuation.
          Bytes("\xed\xa0\x80\xf8"),  // An encoded surrogate and a byte UTF-8 never uses.
          Bytes("\r\n \t*?\\"),
          kLongKey,
          std::string(limits::kMaxKeyBytes - 1, 'k') + '\xff',
          std::string(limits::kMaxKeyBytes, '\0')};
}

std::vector<std::string> ValuesFor(const std::vector<std::string>& keys) {
  std::vector<std::string> values;
  for (size_t i = 0; i < keys.size(); ++i) values.push_back(absl::StrCat("value-", i));
  return values;
}

class EngineBytesTest : public EngineTest {
 protected:
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, Kind kind, std::string argument) {
    return engine().Invalidate(ns, InvalidateTarget{kind, std::move(argument)});
  }
  void PutAll(absl::string_view ns, const std::vector<std::string>& keys) {
    for (const std::string& key : keys) Put(ns, key, "v");
  }
};

TEST_P(EngineBytesTest, KeysRoundTripThroughSetGetAndMultiGet) {
  const std::vector<std::string> keys = OddKeys();
  const std::vector<std::string> values = ValuesFor(keys);
  for (size_t i = 0; i < keys.size(); ++i) Put("ns", keys[i], values[i]);
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(ValueOf("ns", keys[i]), values[i]) << i;
  EXPECT_THAT(ValuesOf("ns", keys), ElementsAreArray(values));
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine().Stats("ns"));
  EXPECT_EQ(stats.entries, Entries(static_cast<int64_t>(keys.size())));
}

TEST_P(EngineBytesTest, KeysRoundTripThroughMultiSet) {
  const std::vector<std::string> keys = OddKeys();
  const std::vector<std::string> values = ValuesFor(keys);
  std::vector<SetItem> items;
  for (size_t i = 0; i < keys.size(); ++i) items.push_back(ItemFor(keys[i], values[i]));
  ASSERT_OK_AND_ASSIGN(std::vector<SetResult> results, engine().MultiSet("ns", items));
  for (const SetResult& result : results) EXPECT_TRUE(result.stored);
  EXPECT_THAT(ValuesOf("ns", keys), ElementsAreArray(values));
}

TEST_P(EngineBytesTest, KeysRoundTripThroughTouchAndDelete) {
  const std::vector<std::string> keys = OddKeys();
  const std::vector<std::string> values = ValuesFor(keys);
  for (size_t i = 0; i < keys.size(); ++i) Put("ns", keys[i], values[i]);
  const absl::Time later = clock().Now() + absl::Hours(1);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_THAT(engine().Touch("ns", keys[i], later),
                IsOkAndHolds(std::optional<std::string>(StrongEtagFor(values[i]))))
        << i;
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("ns", keys[i]));
    ASSERT_TRUE(entry.has_value()) << i;
    EXPECT_EQ(entry->expires_at, later);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_THAT(engine().Delete("ns", keys[i]), IsOkAndHolds(true)) << i;
    for (size_t j = i + 1; j < keys.size(); ++j) EXPECT_EQ(ValueOf("ns", keys[j]), values[j]);
  }
  EXPECT_THAT(ValuesOf("ns", keys),
              ElementsAreArray(std::vector<std::string>(keys.size(), "<miss>")));
}

TEST_P(EngineBytesTest, PrefixesAreBytes) {
  if (!capabilities().invalidate_prefix) {
    return ExpectUnsupported(Invalidate("ns", Kind::kPrefix, Bytes("p\0")).status(),
                             "Invalidate by prefix");
  }
  PutAll("ns", {Bytes("p\0a"), Bytes("p\0"), Bytes("p"), Bytes("p\x01"), Bytes("p\xff\0"),
                Bytes("q\0"), kLongKey, std::string(limits::kMaxKeyBytes - 1, 'k') + 'x'});
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, Bytes("p\0")), IsOkAndHolds(Removed(2)));
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, Bytes("p\xff")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, kLongKey), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(ValuesOf("ns", {Bytes("p"), Bytes("p\x01"), Bytes("q\0"), Bytes("p\0a"), kLongKey,
                              std::string(limits::kMaxKeyBytes - 1, 'k') + 'x'}),
              ElementsAre("v", "v", "v", "<miss>", "<miss>", "v"));
}

TEST_P(EngineBytesTest, PatternsAreBytes) {
  if (!capabilities().invalidate_pattern) {
    return ExpectUnsupported(Invalidate("ns", Kind::kPattern, Bytes("a\0?\xff")).status(),
                             "Invalidate by pattern");
  }
  PutAll("ns", {Bytes("a\0b\xff"), Bytes("a\0c\xff"), Bytes("a\0b"), Bytes("a\xff\xff"),
                Bytes("\xc3\x28z"), Bytes("x*y"), Bytes("xzy"), kLongKey});
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("a\0?\xff")), IsOkAndHolds(Removed(2)));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("*\x28*")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("x\\*y")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, kLongKey), IsOkAndHolds(Removed(1)));  // 4096 bytes.
  EXPECT_THAT(ValuesOf("ns", {Bytes("a\0b"), Bytes("a\xff\xff"), Bytes("xzy"), Bytes("a\0c\xff")}),
              ElementsAre("v", "v", "v", "<miss>"));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("a?*")), IsOkAndHolds(Removed(2)));
}

TEST_P(EngineBytesTest, BracketsInPatternsAndPrefixesAreLiteral) {
  if (!capabilities().invalidate_pattern) {
    return ExpectUnsupported(Invalidate("ns", Kind::kPattern, Bytes("a[b]*")).status(),
                             "Invalidate by pattern");
  }
  PutAll("ns", {Bytes("a[b]c"), Bytes("abc"), Bytes("a[^x]"), Bytes("a^")});
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("a[b]*")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, Bytes("*[^x]")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, Bytes("a[")), IsOkAndHolds(0));
  EXPECT_THAT(ValuesOf("ns", {Bytes("abc"), Bytes("a^")}), ElementsAre("v", "v"));
}

TEST_P(EngineBytesTest, TagsAreBytes) {
  const std::string nul_tag = Bytes("t\0x"), long_tag(limits::kMaxTagBytes, '\xff');
  Put("ns",
      Bytes("k\0"
            "1"),
      "v", absl::ZeroDuration(), {nul_tag});
  Put("ns",
      Bytes("k\0"
            "2"),
      "v", absl::ZeroDuration(), {Bytes("t")});
  Put("ns",
      Bytes("k\0"
            "3"),
      "v", absl::ZeroDuration(), {Bytes("t\0")});
  Put("ns", kLongKey, "v", absl::ZeroDuration(), {long_tag, nul_tag});
  EXPECT_THAT(Invalidate("ns", Kind::kTag, nul_tag), IsOkAndHolds(Removed(2)));
  EXPECT_THAT(Invalidate("ns", Kind::kTag, long_tag), IsOkAndHolds(0));  // kLongKey is gone.
  EXPECT_THAT(ValuesOf("ns", {Bytes("k\0"
                                    "2"),
                              Bytes("k\0"
                                    "3")}),
              ElementsAre("v", "v"));
  EXPECT_THAT(Invalidate("ns", Kind::kTag, Bytes("t\0")), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(Invalidate("ns", Kind::kTag, Bytes("t")), IsOkAndHolds(Removed(1)));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineBytesTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

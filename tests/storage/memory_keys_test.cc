// Keys, prefixes, patterns and tags are bytes in the memory engine: NUL, 0xff, invalid UTF-8 and
// a key of exactly limits::kMaxKeyBytes round-trip exactly through every call.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using Kind = InvalidateTarget::Kind;
using namespace std::string_literals;  // "a\0b"s keeps its NUL.

// Distinct keys that a C-string or UTF-8 handling bug would confuse with one another.
std::vector<std::string> ByteKeys() {
  std::string longest(limits::kMaxKeyBytes, '\0');
  for (size_t i = 0; i < longest.size(); ++i) longest[i] = static_cast<char>(i * 7);
  return {"a"s,
          "a\0"s,
          "a\0b"s,
          "a\0c"s,
          "\0"s,
          "\0\0"s,
          "\xff"s,
          "\xff\xff"s,
          "\xff\0\xff"s,
          "\xc3\x28"s /* bad UTF-8 */,
          "\xed\xa0\x80"s /* a surrogate */,
          "\x80"s,
          "\xf8\x88\x80\x80\x80"s,
          longest,
          longest.substr(0, limits::kMaxKeyBytes - 1)};
}

class MemoryKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemoryEngineOptions options;
    options.shards = 4;
    options.sweep_interval = absl::ZeroDuration();
    ASSERT_OK_AND_ASSIGN(engine_, MemoryEngine::Create(options, clock_));
  }
  void Put(absl::string_view key, absl::string_view value, std::vector<std::string> tags = {}) {
    SetOptions options;
    options.etag = StrongEtagFor(value);
    options.tags = std::move(tags);
    ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set("ns", key, value, options));
    ASSERT_TRUE(result.stored);
  }
  std::string ValueOf(absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get("ns", key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value() ? (*entry)->value : "<miss>";
  }
  // Stores every byte key with its own hex escape as the value.
  void PutAll() {
    for (const std::string& key : ByteKeys()) Put(key, absl::CHexEscape(key));
  }
  int64_t Invalidate(Kind kind, std::string argument) {
    absl::StatusOr<int64_t> removed = engine_->Invalidate("ns", {kind, std::move(argument)});
    EXPECT_TRUE(removed.ok()) << removed.status();
    return removed.ok() ? *removed : -1;
  }
  // Checks that exactly the keys for which `gone` holds are missing.
  template <typename Predicate>
  void ExpectGoneExactly(Predicate gone) {
    for (const std::string& key : ByteKeys()) {
      EXPECT_EQ(ValueOf(key), gone(key) ? "<miss>" : absl::CHexEscape(key))
          << absl::CHexEscape(key.substr(0, 16));
    }
  }

  larder::testing::FakeClock clock_;
  std::unique_ptr<MemoryEngine> engine_;
};

TEST_F(MemoryKeysTest, SetGetAndDeleteKeepEveryByteKeyApart) {
  PutAll();
  ExpectGoneExactly([](const std::string&) { return false; });
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_EQ(stats.entries, static_cast<int64_t>(ByteKeys().size()));
  ASSERT_OK_AND_ASSIGN(bool deleted, engine_->Delete("ns", "a\0b"s));
  EXPECT_TRUE(deleted);
  ASSERT_OK_AND_ASSIGN(deleted, engine_->Delete("ns", ByteKeys()[13]));  // The longest key.
  EXPECT_TRUE(deleted);
  ExpectGoneExactly(
      [](const std::string& key) { return key == "a\0b"s || key.size() == limits::kMaxKeyBytes; });
}

TEST_F(MemoryKeysTest, PrefixSelectsBytesExactly) {
  PutAll();
  EXPECT_EQ(Invalidate(Kind::kPrefix, "a\0"s), 3);
  EXPECT_EQ(Invalidate(Kind::kPrefix, "\xff"s), 3);
  const std::string longest = ByteKeys()[13];
  EXPECT_EQ(Invalidate(Kind::kPrefix, longest), 1);
  ExpectGoneExactly([&](const std::string& key) {
    return key.rfind("a\0"s, 0) == 0 || key[0] == '\xff' || key == longest;
  });
}

TEST_F(MemoryKeysTest, PatternMatchesBytesExactly) {
  PutAll();
  EXPECT_EQ(Invalidate(Kind::kPattern, "a?*"s), 3);    // "a\0", "a\0b", "a\0c".
  EXPECT_EQ(Invalidate(Kind::kPattern, "\0?"s), 1);    // "\0\0" only.
  EXPECT_EQ(Invalidate(Kind::kPattern, "*\xff"s), 3);  // "\xff", "\xff\xff", "\xff\0\xff".
  EXPECT_EQ(Invalidate(Kind::kPattern, "\xed\xa0\x80"s), 1);
  ExpectGoneExactly([](const std::string& key) {
    return (key.size() > 1 && key[0] == 'a') || key == "\0\0"s || key.back() == '\xff' ||
           key == "\xed\xa0\x80"s;
  });
}

TEST_F(MemoryKeysTest, TagsAreBytesToo) {
  const std::string nul_tag = "t\0a"s;
  const std::string high_tag = "\xff\xfe"s;
  for (const std::string& key : ByteKeys()) {
    Put(key, absl::CHexEscape(key), {key.size() % 2 == 0 ? nul_tag : high_tag});
  }
  EXPECT_EQ(Invalidate(Kind::kTag, "t"s), 0);
  EXPECT_EQ(Invalidate(Kind::kTag, "t\0b"s), 0);
  int64_t even = 0;
  for (const std::string& key : ByteKeys()) even += key.size() % 2 == 0;
  EXPECT_EQ(Invalidate(Kind::kTag, nul_tag), even);
  ExpectGoneExactly([](const std::string& key) { return key.size() % 2 == 0; });
  EXPECT_EQ(Invalidate(Kind::kTag, high_tag), static_cast<int64_t>(ByteKeys().size()) - even);
  EXPECT_EQ(engine_->Usage().namespace_tables, 0);
}

TEST_F(MemoryKeysTest, LongestKeyCountsItsBytes) {
  const std::string longest = ByteKeys()[13];
  ASSERT_EQ(longest.size(), limits::kMaxKeyBytes);
  Put(longest, "v");
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(limits::kMaxKeyBytes) + 1);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> etag,
                       engine_->Touch("ns", longest, clock_.Now() + absl::Minutes(1)));
  EXPECT_EQ(etag, StrongEtagFor("v"));
}

}  // namespace
}  // namespace larder::storage

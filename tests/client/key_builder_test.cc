#include "larder/key_builder.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "larder/coders/json.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::testing::MatchesRegex;

// Checked into the source: if these change, every deployed cache key changes with them.
// Computed independently of this code, with xxhsum (xxHash's command-line tool):
//   printf '\x08\0\0\0\0\0\0\0\x2a\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0eu' | xxhsum -H2 -
TEST(MakeKeyTest, MatchesTheGoldenValue) {
  EXPECT_EQ(*MakeKey("get_user", int64_t{42}, std::string("eu")),
            "get_user:v2:e4d103e7ab64eedfaff4bc94446fbe28");
}

// No arguments hash the empty input: printf '' | xxhsum -H2 -
TEST(MakeKeyTest, MatchesTheGoldenValueWithoutArguments) {
  EXPECT_EQ(*MakeKey("list_all"), "list_all:v2:99aa06d3014798d86001c324468d497f");
}

// XXH3's secret is public: a 24-byte string whose first 16 bytes are the secret's bytes 8-23
// zeroes both of XXH3-64's 16-byte products for this length, so every choice of the last 8 bytes
// gives the same 64-bit hash (a876371956824fd0 for all three below, by xxhsum -H3). The 128-bit
// keys differ; their values come from
//   printf '\x18\0\0\0\0\0\0\0<the 24 bytes>' | xxhsum -H2 -
TEST(MakeKeyTest, ArgumentsCraftedToCollideUnderXxh3_64GetDistinctKeys) {
  const std::string crafted("\x7c\x01\x81\x2c\xf7\x21\xad\x1c\xde\xd4\x6d\xe9\x83\x90\x97\xdb", 16);
  EXPECT_EQ(*MakeKey("get_profile", crafted + "AAAAAAAA"),
            "get_profile:v2:186ecb0c65748823543181787e7bb084");
  EXPECT_EQ(*MakeKey("get_profile", crafted + "BBBBBBBB"),
            "get_profile:v2:443347779c0ba115565f6d341997217f");
  EXPECT_EQ(*MakeKey("get_profile", crafted + "zzzzzzzz"),
            "get_profile:v2:19914859c0b970bc653df4a7659d8d4d");
}

TEST(MakeKeyTest, HasTheNameTheVersionThenThirtyTwoHexDigits) {
  EXPECT_THAT(*MakeKey("f", 1), MatchesRegex("f:v2:[0-9a-f]{32}"));
}

TEST(MakeKeyTest, RefusesAnEmptyFunctionName) {
  EXPECT_THAT(MakeKey("", 1), testing::StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST(MakeKeyTest, IntegerWidthsAndStringKindsDoNotMatter) {
  EXPECT_EQ(*MakeKey("f", int32_t{7}), *MakeKey("f", int64_t{7}));
  EXPECT_EQ(*MakeKey("f", uint8_t{7}), *MakeKey("f", uint64_t{7}));
  const char* c_string = "abc";
  EXPECT_EQ(*MakeKey("f", c_string), *MakeKey("f", std::string("abc")));
  EXPECT_EQ(*MakeKey("f", "abc"), *MakeKey("f", absl::string_view("abc")));
}

TEST(MakeKeyTest, ArgumentBoundariesAreUnambiguous) {
  EXPECT_NE(*MakeKey("f", "ab", "c"), *MakeKey("f", "a", "bc"));
  EXPECT_NE(*MakeKey("f", "abc"), *MakeKey("f", "abc", ""));
  EXPECT_NE(*MakeKey("f", 1, 2), *MakeKey("f", 2, 1));
}

TEST(MakeKeyTest, NameSeparatesFunctions) {
  EXPECT_NE(*MakeKey("get_user", 1), *MakeKey("get_order", 1));
}

TEST(MakeKeyTest, EncodesOptionalsAndVectors) {
  EXPECT_NE(*MakeKey("f", std::optional<absl::string_view>()),
            *MakeKey("f", std::optional<absl::string_view>("")));
  EXPECT_NE(*MakeKey("f", std::vector<absl::string_view>{"a", "b"}),
            *MakeKey("f", std::vector<absl::string_view>{"ab"}));
  EXPECT_EQ(*MakeKey("f", std::vector<int>{1, 2}), *MakeKey("f", std::vector<int64_t>{1, 2}));
}

TEST(MakeKeyTest, UsesCodersForOtherTypes) {
  nlohmann::json first = {{"b", 1}, {"a", 2}};
  nlohmann::json second = {{"a", 2}, {"b", 1}};
  EXPECT_EQ(*MakeKey("f", first), *MakeKey("f", second));
}

TEST(MakeKeyTest, ReportsEncodingFailures) {
  const char* null_string = nullptr;
  EXPECT_THAT(MakeKey("f", null_string), testing::StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeKey("f", nlohmann::json("\xFF")),
              testing::StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST(DefaultKeyBuilderTest, IsMakeKeyUnderItsName) {
  DefaultKeyBuilder builder("get_user");
  EXPECT_EQ(*builder(int64_t{42}, std::string("eu")), *MakeKey("get_user", 42, "eu"));
}

}  // namespace
}  // namespace larder

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

// Checked into the source: if this changes, every deployed cache key changes with it.
// Computed independently:
//   printf '\x08\0\0\0\0\0\0\0\x2a\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0eu' | xxhsum -H3 -
TEST(MakeKeyTest, MatchesTheGoldenValue) {
  EXPECT_EQ(*MakeKey("get_user", int64_t{42}, std::string("eu")), "get_user:e92955254531f067");
}

TEST(MakeKeyTest, HasTheNameThenSixteenHexDigits) {
  EXPECT_THAT(*MakeKey("f", 1), MatchesRegex("f:[0-9a-f]{16}"));
  EXPECT_THAT(*MakeKey("", 1), MatchesRegex("[0-9a-f]{16}"));
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

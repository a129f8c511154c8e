// Entity tags: parsing If-None-Match / If-Match lists and comparing them (RFC 9110 8.8.3,
// 13.1.1, 13.1.2).
#include "larder/common/etag.h"

#include "gtest/gtest.h"

namespace larder {
namespace {

struct MatchCase {
  const char* header;
  const char* etag;
  bool if_none_match;  // Weak comparison.
  bool if_match;       // Strong comparison.
};

TEST(EtagTest, WeakAndStrongComparisonFollowRfc9110) {
  const MatchCase cases[] = {
      {"\"abc\"", "\"abc\"", true, true},
      {"W/\"abc\"", "\"abc\"", true, false},
      {"\"abc\"", "W/\"abc\"", true, false},
      {"W/\"abc\"", "W/\"abc\"", true, false},
      {"\"abc\"", "\"abd\"", false, false},
      {"\"x\", \"abc\"", "\"abc\"", true, true},
      {"\"x\",\"abc\"", "\"abc\"", true, true},
      {"  \"x\" ,  W/\"abc\"  ", "\"abc\"", true, false},
      {"*", "\"anything\"", true, true},
      {" * ", "\"anything\"", true, true},
      {"abc", "\"abc\"", false, false},               // Unquoted: not an entity tag.
      {"\"ab\"c\", \"abc\"", "\"abc\"", true, true},  // A malformed member is skipped.
      {"w/\"abc\"", "\"abc\"", false, false},         // W/ is case-sensitive.
      {"", "\"abc\"", false, false},
      {",,\"abc\",,", "\"abc\"", true, true},
  };
  for (const MatchCase& c : cases) {
    EXPECT_EQ(IfNoneMatchMatches(c.header, c.etag), c.if_none_match)
        << "If-None-Match: " << c.header << " vs " << c.etag;
    EXPECT_EQ(IfMatchMatches(c.header, c.etag), c.if_match)
        << "If-Match: " << c.header << " vs " << c.etag;
  }
}

TEST(EtagTest, ParsesListsIntoTagsWithWeakness) {
  auto tags = ParseEntityTagList("W/\"a\", \"b\" ,\"\"");
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_TRUE(tags[0].weak);
  EXPECT_EQ(tags[0].opaque, "\"a\"");
  EXPECT_FALSE(tags[1].weak);
  EXPECT_EQ(tags[1].opaque, "\"b\"");
  EXPECT_EQ(tags[2].opaque, "\"\"");
}

TEST(EtagTest, StrongEtagIsQuotedHexOfFixedLength) {
  const std::string etag = StrongEtagFor("some value");
  ASSERT_EQ(etag.size(), 34u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  for (size_t i = 1; i + 1 < etag.size(); ++i) {
    EXPECT_TRUE(isxdigit(static_cast<unsigned char>(etag[i])) && !isupper(etag[i])) << etag;
  }
  EXPECT_EQ(etag, StrongEtagFor(std::string("some value")));
  EXPECT_NE(etag, StrongEtagFor("some value "));
  EXPECT_TRUE(IfMatchMatches(etag, etag));
}

}  // namespace
}  // namespace larder

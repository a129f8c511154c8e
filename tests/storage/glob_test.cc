#include "server/storage/glob.h"

#include "gtest/gtest.h"

namespace larder::storage {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool matches;
};

TEST(GlobTest, MatchesStarQuestionAndEscapes) {
  const GlobCase cases[] = {
      {"user:*", "user:42", true},
      {"user:*", "user:", true},
      {"user:*", "users", false},
      {"*:profile", "user:1:profile", true},
      {"*:profile", "user:1:profiles", false},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "axxbyy", false},
      {"\\*", "*", true},
      {"\\*", "x", false},
      {"a\\?", "a?", true},
      {"a\\?", "ab", false},
      {"trailing\\", "trailing\\", true},
      {"", "", true},
      {"", "x", false},
      {"*", "", true},
      {"**", "anything", true},
      {"exact", "exact", true},
      {"exact", "exactly", false},
  };
  for (const GlobCase& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.matches) << c.pattern << " vs " << c.text;
  }
}

TEST(GlobTest, ManyStarsDoNotBlowUp) {
  std::string text(5000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", text));
}

TEST(GlobTest, LiteralPrefixStopsAtFirstWildcardAndUnescapes) {
  EXPECT_EQ(GlobLiteralPrefix("user:*:x"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("a\\*b?c"), "a*b");
  EXPECT_EQ(GlobLiteralPrefix("*x"), "");
  EXPECT_EQ(GlobLiteralPrefix("plain"), "plain");
}

}  // namespace
}  // namespace larder::storage

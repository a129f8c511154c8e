#include "server/storage/glob.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "larder/common/limits.h"

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

// The textbook dynamic program over (pattern element, text byte): obviously right, O(p * t).
bool ReferenceMatch(absl::string_view pattern, absl::string_view text) {
  struct Element {
    char byte;
    bool any = false;
    bool star = false;
  };
  std::vector<Element> elements;
  for (size_t p = 0; p < pattern.size(); ++p) {
    if (pattern[p] == '*') {
      elements.push_back({0, false, true});
    } else if (pattern[p] == '?') {
      elements.push_back({0, true, false});
    } else if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      elements.push_back({pattern[++p], false, false});
    } else {
      elements.push_back({pattern[p], false, false});
    }
  }
  // matched[j]: elements[0, i) match text[0, j).
  std::vector<bool> matched(text.size() + 1, false);
  matched[0] = true;
  for (const Element& element : elements) {
    std::vector<bool> next(text.size() + 1, false);
    for (size_t j = 0; j <= text.size(); ++j) {
      if (element.star) {
        next[j] = matched[j] || (j > 0 && next[j - 1]);
      } else if (j > 0) {
        next[j] = matched[j - 1] && (element.any || element.byte == text[j - 1]);
      }
    }
    matched = std::move(next);
  }
  return matched[text.size()];
}

std::string RandomString(std::mt19937& random, absl::string_view alphabet, size_t max_length) {
  std::string out(random() % (max_length + 1), ' ');
  for (char& c : out) c = alphabet[random() % alphabet.size()];
  return out;
}

TEST(GlobTest, AgreesWithReferenceOnRandomPatterns) {
  std::mt19937 random(20261130);
  const std::string text_bytes("ab\0\xff", 4);
  for (int round = 0; round < 200000; ++round) {
    const std::string pattern = RandomString(random, std::string("ab*?\\\0", 6), 10);
    const std::string text = RandomString(random, text_bytes, 12);
    ASSERT_EQ(GlobMatch(pattern, text), ReferenceMatch(pattern, text))
        << "pattern \"" << pattern << "\" text \"" << text << "\"";
  }
}

TEST(GlobTest, LongSegmentsWithQuestionMarksMatchAcrossWordBoundaries) {
  std::string segment(130, 'a');
  segment[63] = '?';
  segment[64] = '?';
  std::string text = "xx" + std::string(130, 'a') + "yy";
  text[2 + 63] = 'q';
  EXPECT_TRUE(GlobMatch("*" + segment + "*", text));
  EXPECT_FALSE(GlobMatch("*" + segment + "b*", text));
  EXPECT_EQ(GlobMatch("*" + segment + "*", text), ReferenceMatch("*" + segment + "*", text));
}

TEST(GlobTest, CompileRejectsEmptyLongAndStarHeavyPatterns) {
  EXPECT_EQ(CompiledGlob::Compile("").status().code(), absl::StatusCode::kInvalidArgument);
  const std::string too_long(limits::kMaxPatternBytes + 1, 'a');
  absl::Status status = CompiledGlob::Compile(too_long).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("4096"), absl::string_view::npos) << status;
  std::string stars;
  for (int i = 0; i <= limits::kMaxPatternStars; ++i) stars += "a*";
  status = CompiledGlob::Compile(stars, "pattern").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("pattern: at most 32 '*'"), absl::string_view::npos) << status;
  EXPECT_TRUE(CompiledGlob::Compile(std::string(limits::kMaxPatternBytes, '?')).ok());
}

// The pattern that made the old backtracking matcher quadratic: with KMP each key costs
// O(key + pattern), so a 4096-byte "*a...ab" over a 4096-byte key of 'a's is one pass.
TEST(GlobTest, PathologicalPatternIsLinear) {
  const std::string pattern = "*" + std::string(limits::kMaxPatternBytes - 2, 'a') + "b";
  absl::StatusOr<CompiledGlob> glob = CompiledGlob::Compile(pattern);
  ASSERT_TRUE(glob.ok());
  const std::string key(limits::kMaxKeyBytes, 'a');
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(glob->Matches(key));
  EXPECT_TRUE(glob->Matches(std::string(limits::kMaxKeyBytes - 1, 'a') + "b"));
}

TEST(GlobTest, BytesAreComparedExactly) {
  const std::string key("a\0\xff\xfe", 4);
  EXPECT_TRUE(GlobMatch(std::string("a\0*", 3), key));
  EXPECT_TRUE(GlobMatch("a??\xfe", key));
  EXPECT_FALSE(GlobMatch("a*\xfd", key));
}

}  // namespace
}  // namespace larder::storage

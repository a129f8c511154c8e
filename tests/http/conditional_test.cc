#include "larder/http/conditional.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"

namespace larder::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

struct EtagCase {
  std::string name;
  std::string if_none_match;
  std::string etag;
  Conditional expected;
};

class IfNoneMatchTest : public ::testing::TestWithParam<EtagCase> {};

TEST_P(IfNoneMatchTest, EvaluatesWithWeakComparison) {
  Headers headers;
  headers.Add("If-None-Match", GetParam().if_none_match);
  EXPECT_EQ(EvaluateConditional(headers, GetParam().etag, std::nullopt), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IfNoneMatchTest,
    ::testing::Values(
        EtagCase{"StrongEqualsStrong", "\"abc\"", "\"abc\"", Conditional::kNotModified},
        EtagCase{"WeakRequestMatchesStrongTag", "W/\"abc\"", "\"abc\"", Conditional::kNotModified},
        EtagCase{"StrongRequestMatchesWeakTag", "\"abc\"", "W/\"abc\"", Conditional::kNotModified},
        EtagCase{"WeakMatchesWeak", "W/\"abc\"", "W/\"abc\"", Conditional::kNotModified},
        EtagCase{"Different", "\"xyz\"", "\"abc\"", Conditional::kModified},
        EtagCase{"InList", "\"invalid\", W/\"abc\"", "\"abc\"", Conditional::kNotModified},
        EtagCase{"ListWithoutSpaces", "\"a\",\"b\",\"abc\"", "\"abc\"", Conditional::kNotModified},
        EtagCase{"Wildcard", "*", "\"abc\"", Conditional::kNotModified},
        EtagCase{"WildcardWithSpaces", "  *  ", "\"abc\"", Conditional::kNotModified},
        EtagCase{"UnquotedIsNotATag", "abc", "\"abc\"", Conditional::kModified},
        EtagCase{"PlainStringPrefixIsNotAMatch", "\"ab\"", "\"abc\"", Conditional::kModified},
        EtagCase{"MalformedMemberSkipped", "garbage, \"abc\"", "\"abc\"",
                 Conditional::kNotModified},
        EtagCase{"NoEtagNeverMatches", "*", "", Conditional::kModified}),
    [](const ::testing::TestParamInfo<EtagCase>& info) { return info.param.name; });

TEST(ConditionalTest, MatchesTheTagOfTheBody) {
  Headers headers;
  headers.Add("If-None-Match", StrongEtagFor("hello"));
  EXPECT_EQ(EvaluateConditional(headers, StrongEtagFor("hello"), std::nullopt),
            Conditional::kNotModified);
  EXPECT_EQ(EvaluateConditional(headers, StrongEtagFor("hello!"), std::nullopt),
            Conditional::kModified);
}

TEST(ConditionalTest, RepeatedIfNoneMatchFieldsFormOneList) {
  Headers headers;
  headers.Add("If-None-Match", "\"a\"");
  headers.Add("if-none-match", "\"b\"");
  EXPECT_EQ(EvaluateConditional(headers, "\"b\"", std::nullopt), Conditional::kNotModified);
}

TEST(ConditionalTest, NoValidatorIsNone) {
  EXPECT_EQ(EvaluateConditional(Headers{}, "\"abc\"", absl::UnixEpoch()), Conditional::kNone);
}

TEST(ConditionalTest, IfModifiedSinceComparesLastModified) {
  const absl::Time modified = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37
  Headers headers{{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}};
  EXPECT_EQ(EvaluateConditional(headers, "\"a\"", modified), Conditional::kNotModified);
  EXPECT_EQ(EvaluateConditional(headers, "\"a\"", modified + absl::Seconds(1)),
            Conditional::kModified);
}

TEST(ConditionalTest, IfNoneMatchTakesPrecedenceOverIfModifiedSince) {
  const absl::Time modified = absl::FromUnixSeconds(784111777);
  Headers headers{{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"},
                  {"If-None-Match", "\"other\""}};
  EXPECT_EQ(EvaluateConditional(headers, "\"a\"", modified), Conditional::kModified);
}

TEST(ConditionalTest, InvalidIfModifiedSinceIsIgnored) {
  Headers headers{{"If-Modified-Since", "yesterday"}};
  EXPECT_EQ(EvaluateConditional(headers, "\"a\"", absl::UnixEpoch()), Conditional::kNone);
}

TEST(ConditionalTest, HttpDateRoundTrips) {
  const absl::Time time = absl::FromUnixSeconds(784111777);
  EXPECT_EQ(FormatHttpDate(time), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), time);
}

TEST(ConditionalTest, AbseilsInfinityWordsAreNotHttpDates) {
  EXPECT_EQ(ParseHttpDate("infinite-future"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(" infinite-past"), std::nullopt);
  // So If-Modified-Since: infinite-future cannot turn every response into a 304.
  Headers headers{{"If-Modified-Since", "infinite-future"}};
  EXPECT_EQ(EvaluateConditional(headers, "", absl::FromUnixSeconds(784111777)), Conditional::kNone);
}

TEST(ConditionalTest, NotModifiedKeepsOnlyValidatorAndCachingHeaders) {
  Response full;
  full.status = 200;
  full.body = "{\"a\":1}";
  full.headers = {{"ETag", "\"e\""},
                  {"Cache-Control", "max-age=30"},
                  {"Vary", "Accept-Language"},
                  {"Content-Type", "application/json"},
                  {"Expires", "x"},
                  {"Content-Location", "/a"},
                  {"X-Cache", "HIT"},
                  {"Age", "3"},
                  {"Cache-Status", "larder; hit"},
                  {"X-Other", "1"}};
  const Response not_modified = MakeNotModified(full, {"X-Cache"});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.body, "");
  EXPECT_THAT(not_modified.headers.fields(),
              ElementsAre(Pair("ETag", "\"e\""), Pair("Cache-Control", "max-age=30"),
                          Pair("Vary", "Accept-Language"), Pair("Expires", "x"),
                          Pair("Content-Location", "/a"), Pair("X-Cache", "HIT"), Pair("Age", "3"),
                          Pair("Cache-Status", "larder; hit")));
}

}  // namespace
}  // namespace larder::http

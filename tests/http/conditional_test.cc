#include "larder/http/conditional.h"

#include <string>

#include "absl/time/civil_time.h"
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

// RFC 9110 section 5.6.7's example, 1994-11-06 08:49:37 UTC, in its three formats.
constexpr int64_t kRfcExampleSeconds = 784111777;

absl::Time At(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

class HttpDateFormatsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpDateFormatsTest, ParsesTheRfcExample) {
  EXPECT_EQ(ParseHttpDate(GetParam(), At(2026, 11, 30)), absl::FromUnixSeconds(kRfcExampleSeconds));
}

INSTANTIATE_TEST_SUITE_P(Rfc9110, HttpDateFormatsTest,
                         ::testing::Values("Sun, 06 Nov 1994 08:49:37 GMT",   // IMF-fixdate
                                           "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850
                                           "Sun Nov  6 08:49:37 1994",        // asctime
                                           "Sun Nov 06 08:49:37 1994",        // asctime, 2DIGIT
                                           "  Sun, 06 Nov 1994 08:49:37 GMT\t"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "Form" + std::to_string(info.index);
                         });

class InvalidHttpDateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidHttpDateTest, IsRefused) {
  EXPECT_EQ(ParseHttpDate(GetParam(), At(2026, 11, 30)), std::nullopt) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Strictness, InvalidHttpDateTest,
    ::testing::Values("", "yesterday", "Sun, 6 Nov 1994 08:49:37 GMT",  // one-digit day
                      "Sun, 06 Nov 94 08:49:37 GMT",                    // two-digit year
                      "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +0000",
                      "Sun, 06 Nov 1994 08:49:37 gmt", "sun, 06 Nov 1994 08:49:37 GMT",
                      "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
                      "Sun, 06 Nov 1994 08:49:37  GMT", "Sun,  06 Nov 1994 08:49:37 GMT",
                      "Sun, 31 Nov 1994 08:49:37 GMT",  // November has 30 days
                      "Tue, 29 Feb 2100 08:49:37 GMT",  // 2100 is not a leap year
                      "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                      "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 08:49:60 GMT",
                      "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 08:49:3a GMT",
                      "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun, 06 Nov -994 08:49:37 GMT",
                      "Sunday, 06 Nov 1994 08:49:37 GMT",
                      "Sun, 06-Nov-94 08:49:37 GMT",  // RFC 850 needs the long day name
                      "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 6-Nov-94 08:49:37 GMT",
                      "Sunday, 06-Nov-94 08:49:37 UTC", "Someday, 06-Nov-94 08:49:37 GMT",
                      "Sunday,06-Nov-94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
                      "Sun Nov  6 08:49:37 94", "Sun Nov  6 08:49:37 1994 GMT",
                      "Sun Nov 6  08:49:37 1994", "Sun Nov  6 08:49:37  994", "infinite-future",
                      std::string("Sun, 06 Nov 1994 08:49:37 GMT") + '\0',
                      std::string(100000, 'S')),
    [](const ::testing::TestParamInfo<std::string>& info) {
      return "Form" + std::to_string(info.index);  // The values hold spaces, NUL, 100 KB.
    });

TEST(HttpDateTest, TwoDigitYearMoreThanFiftyYearsAheadIsInThePast) {
  const absl::Time now = At(2026, 11, 30, 12);
  // 2076-11-30 12:00:00 is exactly 50 years ahead: still the future century's year.
  EXPECT_EQ(ParseHttpDate("Monday, 30-Nov-76 12:00:00 GMT", now), At(2076, 11, 30, 12));
  // One second more than 50 years ahead: the most recent past year with those digits.
  EXPECT_EQ(ParseHttpDate("Monday, 30-Nov-76 12:00:01 GMT", now), At(1976, 11, 30, 12, 0, 1));
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now),
            absl::FromUnixSeconds(kRfcExampleSeconds));
  EXPECT_EQ(ParseHttpDate("Friday, 01-Jan-27 00:00:00 GMT", now), At(2027, 1, 1));
  EXPECT_EQ(ParseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT", now), At(2000, 1, 1));
  // Late in a century the next century's years are near: 10 in 2090 is 2110, not 2010.
  EXPECT_EQ(ParseHttpDate("Wednesday, 01-Jan-10 00:00:00 GMT", At(2090, 6, 1)), At(2110, 1, 1));
  EXPECT_EQ(ParseHttpDate("Wednesday, 01-Jan-50 00:00:00 GMT", At(2090, 6, 1)), At(2050, 1, 1));
}

TEST(HttpDateTest, TwoDigitLeapDayNeedsALeapYearAfterResolving) {
  const absl::Time now = At(2026, 11, 30);
  EXPECT_EQ(ParseHttpDate("Thursday, 29-Feb-24 10:00:00 GMT", now), At(2024, 2, 29, 10));
  EXPECT_EQ(ParseHttpDate("Monday, 29-Feb-26 10:00:00 GMT", now), std::nullopt);
}

TEST(HttpDateTest, LeapSecondOnlyAtTheEndOfADay) {
  EXPECT_EQ(ParseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT"), At(2017, 1, 1));
  EXPECT_EQ(ParseHttpDate("Sat, 31 Dec 2016 22:59:60 GMT"), std::nullopt);
}

TEST(HttpDateTest, LeapDaysAndCalendarEdges) {
  EXPECT_EQ(ParseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT"), At(2000, 2, 29));
  EXPECT_EQ(ParseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT"), At(2024, 2, 29));
  EXPECT_EQ(ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT"), At(9999, 12, 31, 23, 59, 59));
  EXPECT_EQ(ParseHttpDate("Sat, 01 Jan 0000 00:00:00 GMT"), At(0, 1, 1));
}

TEST(HttpDateTest, DayNameIsCheckedForSpellingOnly) {
  // Like most HTTP implementations: a wrong weekday is no reason to drop the date.
  EXPECT_EQ(ParseHttpDate("Mon, 06 Nov 1994 08:49:37 GMT"),
            absl::FromUnixSeconds(kRfcExampleSeconds));
}

TEST(HttpDateTest, FormatWritesImfFixdateWithFourDigitYears) {
  EXPECT_EQ(FormatHttpDate(absl::FromUnixSeconds(kRfcExampleSeconds) + absl::Milliseconds(999)),
            "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(At(5, 3, 1, 1, 2, 3)), "Tue, 01 Mar 0005 01:02:03 GMT");
  EXPECT_EQ(FormatHttpDate(absl::InfiniteFuture()), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(absl::InfinitePast()), "Sat, 01 Jan 0000 00:00:00 GMT");
  for (const absl::Time time : {At(5, 3, 1, 1, 2, 3), At(2024, 2, 29, 23, 59, 59), At(0, 1, 1)}) {
    EXPECT_EQ(ParseHttpDate(FormatHttpDate(time)), time);
  }
}

TEST(ConditionalTest, IfModifiedSinceAcceptsEveryHttpDateFormat) {
  const absl::Time modified = absl::FromUnixSeconds(kRfcExampleSeconds);
  for (const char* since : {"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"}) {
    Headers headers{{"If-Modified-Since", since}};
    EXPECT_EQ(EvaluateConditional(headers, "\"a\"", modified), Conditional::kNotModified) << since;
    EXPECT_EQ(EvaluateConditional(headers, "\"a\"", modified + absl::Seconds(1)),
              Conditional::kModified)
        << since;
  }
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

#include "larder/http/cache_control.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

struct RequestCase {
  std::string name;
  std::string header;
  bool no_cache = false;
  bool no_store = false;
  std::optional<absl::Duration> max_age = std::nullopt;
  std::optional<absl::Duration> max_stale = std::nullopt;
  std::optional<absl::Duration> min_fresh = std::nullopt;
};

class RequestCacheControlTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(RequestCacheControlTest, ParsesDirectives) {
  const RequestCase& c = GetParam();
  const RequestCacheControl cc = ParseRequestCacheControl(c.header);
  EXPECT_EQ(cc.no_cache, c.no_cache);
  EXPECT_EQ(cc.no_store, c.no_store);
  EXPECT_EQ(cc.max_age, c.max_age);
  EXPECT_EQ(cc.max_stale, c.max_stale);
  EXPECT_EQ(cc.min_fresh, c.min_fresh);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RequestCacheControlTest,
    ::testing::Values(
        RequestCase{"Empty", ""}, RequestCase{"NoCache", "no-cache", true},
        RequestCase{"UpperCase", "NO-CACHE", true},
        RequestCase{"MixedCaseNoStore", "No-Store", false, true},
        RequestCase{"List", "no-cache, no-store", true, true},
        RequestCase{"OddSpacing", "  no-store ,max-age = 0 ,  ", false, true, absl::ZeroDuration()},
        RequestCase{"NoSpaces", "max-age=5,no-cache", true, false, absl::Seconds(5)},
        RequestCase{"QuotedValue", "max-age=\"7\"", false, false, absl::Seconds(7)},
        RequestCase{"UnknownIgnored", "foo, bar=\"x,y\", no-cache, baz=1", true},
        RequestCase{"MalformedMaxAgeAbsent", "max-age=abc", false},
        RequestCase{"NegativeMaxAgeAbsent", "max-age=-1", false},
        RequestCase{"FirstOccurrenceWins", "max-age=3, max-age=9", false, false, absl::Seconds(3)},
        RequestCase{"HugeClamped", "max-age=99999999999999999999", false, false,
                    absl::Seconds(int64_t{1} << 31)},
        RequestCase{"MaxStaleWithoutValue", "max-stale", false, false, std::nullopt,
                    absl::InfiniteDuration()},
        RequestCase{"MaxStaleWithValue", "max-stale=0", false, false, std::nullopt,
                    absl::ZeroDuration()},
        RequestCase{"MinFresh", "min-fresh=10", false, false, std::nullopt, std::nullopt,
                    absl::Seconds(10)},
        RequestCase{"EmptyMembers", ",,no-cache,,", true},
        RequestCase{"NoCacheAsPrefixOfUnknown", "no-cache-please", false}),
    [](const ::testing::TestParamInfo<RequestCase>& info) { return info.param.name; });

struct ResponseCase {
  std::string name;
  std::string header;
  ResponseCacheControl expected;
};

ResponseCacheControl Expect(std::function<void(ResponseCacheControl&)> set) {
  ResponseCacheControl cc;
  set(cc);
  return cc;
}

class ResponseCacheControlTest : public ::testing::TestWithParam<ResponseCase> {};

TEST_P(ResponseCacheControlTest, ParsesDirectives) {
  const ResponseCase& c = GetParam();
  const ResponseCacheControl cc = ParseResponseCacheControl(c.header);
  const ResponseCacheControl& e = c.expected;
  EXPECT_EQ(cc.no_cache, e.no_cache);
  EXPECT_EQ(cc.no_store, e.no_store);
  EXPECT_EQ(cc.is_public, e.is_public);
  EXPECT_EQ(cc.is_private, e.is_private);
  EXPECT_EQ(cc.must_revalidate, e.must_revalidate);
  EXPECT_EQ(cc.immutable, e.immutable);
  EXPECT_EQ(cc.max_age, e.max_age);
  EXPECT_EQ(cc.s_maxage, e.s_maxage);
  EXPECT_EQ(cc.stale_while_revalidate, e.stale_while_revalidate);
  EXPECT_EQ(cc.stale_if_error, e.stale_if_error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ResponseCacheControlTest,
    ::testing::Values(
        ResponseCase{"PublicMaxAge", "public, max-age=30",
                     Expect([](auto& c) { c.is_public = true, c.max_age = absl::Seconds(30); })},
        ResponseCase{"PrivateCapitalised", "Private, max-age=5",
                     Expect([](auto& c) { c.is_private = true, c.max_age = absl::Seconds(5); })},
        ResponseCase{"NoStoreUpperCaseOddSpacing", "max-age=5 , NO-STORE",
                     Expect([](auto& c) { c.no_store = true, c.max_age = absl::Seconds(5); })},
        ResponseCase{"QualifiedPrivate", "private=\"Set-Cookie, X-User\", max-age=1",
                     Expect([](auto& c) { c.is_private = true, c.max_age = absl::Seconds(1); })},
        ResponseCase{"ConflictingMaxAgesTakeTheShortest", "max-age=60, max-age=5",
                     Expect([](auto& c) { c.max_age = absl::Seconds(5); })},
        ResponseCase{"MalformedDuplicateMakesItStale", "s-maxage=60, s-maxage=soon",
                     Expect([](auto& c) { c.s_maxage = absl::ZeroDuration(); })},
        ResponseCase{"QuotedMaxAgeTolerated", "max-age=\"5\"",
                     Expect([](auto& c) { c.max_age = absl::Seconds(5); })},
        ResponseCase{"QualifiedNoCache", "no-cache=\"Set-Cookie\"",
                     Expect([](auto& c) { c.no_cache = true; })},
        ResponseCase{"UnknownTokenContainingPrivate", "x-private-hint, public",
                     Expect([](auto& c) { c.is_public = true; })},
        ResponseCase{"SMaxAgeAndImmutable", "s-maxage=60, immutable, must-revalidate",
                     Expect([](auto& c) {
                       c.s_maxage = absl::Seconds(60), c.immutable = true, c.must_revalidate = true;
                     })},
        ResponseCase{"StaleExtensions", "max-age=1, stale-while-revalidate=5, stale-if-error=60",
                     Expect([](auto& c) {
                       c.max_age = absl::Seconds(1), c.stale_while_revalidate = absl::Seconds(5),
                       c.stale_if_error = absl::Seconds(60);
                     })},
        ResponseCase{"MalformedMaxAgeIsStale", "max-age=soon",
                     Expect([](auto& c) { c.max_age = absl::ZeroDuration(); })},
        ResponseCase{"EscapedQuoteInValue", "foo=\"a\\\"b, c\", no-store",
                     Expect([](auto& c) { c.no_store = true; })}),
    [](const ::testing::TestParamInfo<ResponseCase>& info) { return info.param.name; });

TEST(CacheControlTest, ParseDirectiveListLowerCasesNamesAndUnquotesValues) {
  EXPECT_THAT(ParseDirectiveList(" Max-Age = \"5\" ,FOO"),
              ElementsAre(AllOf(Field(&CacheDirective::name, "max-age"),
                                Field(&CacheDirective::value, "5")),
                          Field(&CacheDirective::name, "foo")));
}

struct FormatCase {
  std::string name;
  ResponseCacheControl directives;
  std::string expected;
};

class FormatCacheControlTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatCacheControlTest, FormatsInFixedOrder) {
  EXPECT_EQ(FormatCacheControl(GetParam().directives), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FormatCacheControlTest,
    ::testing::Values(
        FormatCase{"Nothing", {}, ""},
        FormatCase{"PublicMaxAge",
                   Expect([](auto& c) { c.is_public = true, c.max_age = absl::Seconds(30); }),
                   "public, max-age=30"},
        FormatCase{"NoCacheMustRevalidate",
                   Expect([](auto& c) { c.no_cache = true, c.must_revalidate = true; }),
                   "no-cache, must-revalidate"},
        FormatCase{"FractionalSecondsRoundDown",
                   Expect([](auto& c) { c.max_age = absl::Milliseconds(2500); }), "max-age=2"},
        FormatCase{
            "Everything", Expect([](auto& c) {
              c.is_private = true, c.no_store = true, c.max_age = absl::Seconds(1),
              c.s_maxage = absl::Seconds(2), c.immutable = true,
              c.stale_while_revalidate = absl::Seconds(3);
            }),
            "private, no-store, max-age=1, s-maxage=2, stale-while-revalidate=3, immutable"}),
    [](const ::testing::TestParamInfo<FormatCase>& info) { return info.param.name; });

TEST(CacheControlTest, FormatThenParseRoundTrips) {
  ResponseCacheControl cc;
  cc.is_public = true;
  cc.max_age = absl::Seconds(30);
  cc.stale_if_error = absl::Seconds(60);
  const ResponseCacheControl back = ParseResponseCacheControl(FormatCacheControl(cc));
  EXPECT_TRUE(back.is_public);
  EXPECT_EQ(back.max_age, absl::Seconds(30));
  EXPECT_EQ(back.stale_if_error, absl::Seconds(60));
}

}  // namespace
}  // namespace larder::http

#include "larder/http/key.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::http {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;
using ::testing::Pair;

Request Get(std::string path, std::string query = "", Headers headers = {}) {
  Request request;
  request.method = "GET";
  request.host = "example.com";
  request.path = std::move(path);
  request.query = std::move(query);
  request.headers = std::move(headers);
  return request;
}

struct QueryCase {
  std::string name;
  std::string query;
  std::optional<std::vector<std::string>> keep;
  std::string expected;
};

class CanonicalQueryTest : public ::testing::TestWithParam<QueryCase> {};

TEST_P(CanonicalQueryTest, SortsDecodesAndReencodes) {
  EXPECT_EQ(CanonicalQuery(GetParam().query, GetParam().keep), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CanonicalQueryTest,
    ::testing::Values(
        QueryCase{"Empty", "", std::nullopt, ""},
        QueryCase{"SortedByName", "b=2&a=1", std::nullopt, "a=1&b=2"},
        QueryCase{"RepeatedNameKeepsItsOrder", "a=2&a=1", std::nullopt, "a=2&a=1"},
        QueryCase{"SortedByNameOnly", "b=1&a=2&c=0&a=1", std::nullopt, "a=2&a=1&b=1&c=0"},
        QueryCase{"EncodedNamesSortDecoded", "%62=1&a=2&%61=3", std::nullopt, "a=2&a=3&b=1"},
        QueryCase{"EmptyMembersDropped", "&&a=1&", std::nullopt, "a=1"},
        QueryCase{"PlusIsSpace", "q=green+tea", std::nullopt, "q=green%20tea"},
        QueryCase{"PercentDecoded", "q=green%20tea", std::nullopt, "q=green%20tea"},
        QueryCase{"EncodedSeparatorsStayApart", "a=1%262", std::nullopt, "a=1%262"},
        QueryCase{"NameWithoutValue", "flag", std::nullopt, "flag="},
        QueryCase{"OnlyDeclaredKept", "utm_source=x&page=2&q=tea",
                  std::vector<std::string>{"q", "page"}, "page=2&q=tea"},
        QueryCase{"MalformedEscapeKept", "q=%zz", std::nullopt, "q=%25zz"}),
    [](const ::testing::TestParamInfo<QueryCase>& info) { return info.param.name; });

TEST(KeyTest, DefaultKeyIs32HexDigits) {
  EXPECT_THAT(DefaultCacheKey(Get("/items/1"), {}), MatchesRegex("[0-9a-f]{32}"));
}

TEST(KeyTest, DefaultKeyIsStableAcrossVersions) {
  // The hash of the canonical text is part of the stored data's contract: changing it would
  // orphan every entry in a running fleet, so the text carries a version line.
  EXPECT_EQ(CanonicalRequestText(Get("/items/1", "b=2&a=1"), {}),
            "larder-http-key/2\nGET\nhttp\nexample.com\n/items/1\na=1&b=2\n");
  EXPECT_EQ(DefaultCacheKey(Get("/items/1", "b=2&a=1"), {}), "880ea34848723cc4a8096e5c36358956");
  EXPECT_EQ(DefaultCacheKey(Get("/items/1", "b=2&a=1"), {}),
            DefaultCacheKey(Get("/items/1", "a=1&b=2"), {}));
}

TEST(KeyTest, CanonicalTextListsVaryHeadersThenCookies) {
  KeyOptions options;
  options.vary = {"Accept-Language"};
  options.cookies = {"theme", "currency", "absent"};
  Request request = Get("/p", "", {{"Accept-Language", "de"}, {"Cookie", "currency=EUR; theme="}});
  request.scheme = "HTTPS";
  EXPECT_EQ(CanonicalRequestText(request, options),
            "larder-http-key/2\nGET\nhttps\nexample.com\n/p\n\naccept-language:de\n"
            "cookie:absent\ncookie:currency=EUR\ncookie:theme=\n");
}

TEST(KeyTest, SchemeIsPartOfTheKey) {
  Request https = Get("/a");
  https.scheme = "https";
  Request upper = Get("/a");
  upper.scheme = "HTTP";
  EXPECT_NE(DefaultCacheKey(https, {}), DefaultCacheKey(Get("/a"), {}));
  EXPECT_EQ(DefaultCacheKey(upper, {}), DefaultCacheKey(Get("/a"), {}));
}

TEST(KeyTest, RepeatedQueryParametersKeepTheirOrder) {
  EXPECT_NE(DefaultCacheKey(Get("/tagged", "tag=x&tag=y"), {}),
            DefaultCacheKey(Get("/tagged", "tag=y&tag=x"), {}));
  EXPECT_EQ(DefaultCacheKey(Get("/tagged", "tag=x&page=2&tag=y"), {}),
            DefaultCacheKey(Get("/tagged", "page=2&tag=x&tag=y"), {}));
}

KeyOptions CookieOptions(std::vector<std::string> cookies) {
  KeyOptions options;
  options.cookies = std::move(cookies);
  return options;
}

std::string CookieKey(std::vector<Headers::Field> cookie_fields,
                      std::vector<std::string> names = {"currency"}) {
  Request request = Get("/prices");
  for (const auto& [name, value] : cookie_fields) request.headers.Add(name, value);
  return DefaultCacheKey(request, CookieOptions(std::move(names)));
}

TEST(KeyTest, NamedCookieValuesSelectTheResponse) {
  const std::string eur = CookieKey({{"Cookie", "currency=EUR"}});
  EXPECT_NE(eur, CookieKey({{"Cookie", "currency=USD"}}));
  EXPECT_EQ(eur, CookieKey({{"Cookie", "session=abc; currency=EUR; lang=de"}}));
  EXPECT_EQ(eur, CookieKey({{"cookie", "  currency =\tEUR ;session=1"}}));
  EXPECT_EQ(eur, CookieKey({{"Cookie", "session=abc"}, {"Cookie", "currency=EUR"}}));
}

TEST(KeyTest, AbsentCookieDiffersFromEmptyCookie) {
  const std::string absent = CookieKey({});
  EXPECT_EQ(absent, CookieKey({{"Cookie", "other=1; currencyx=EUR; xcurrency=EUR"}}));
  EXPECT_NE(absent, CookieKey({{"Cookie", "currency="}}));
  EXPECT_NE(absent, DefaultCacheKey(Get("/prices"), {}));  // Naming a cookie changes the text.
}

TEST(KeyTest, CookieNamesAreCaseSensitiveAndOrderFree) {
  EXPECT_NE(CookieKey({{"Cookie", "currency=EUR"}}), CookieKey({{"Cookie", "Currency=EUR"}}));
  EXPECT_EQ(CookieKey({{"Cookie", "a=1; b=2"}}, {"a", "b"}),
            CookieKey({{"Cookie", "b=2; a=1"}}, {"b", "a", "b"}));
}

TEST(KeyTest, RepeatedCookieKeepsEveryValueInOrder) {
  EXPECT_NE(CookieKey({{"Cookie", "currency=EUR; currency=USD"}}),
            CookieKey({{"Cookie", "currency=USD; currency=EUR"}}));
  EXPECT_NE(CookieKey({{"Cookie", "currency=EUR; currency=USD"}}),
            CookieKey({{"Cookie", "currency=EUR"}}));
}

TEST(CookieParsingTest, SplitsTrimsAndSkipsMembersWithoutAName) {
  Headers headers{{"Cookie", " a=1;b = 2 ;; novalue; =orphan; c=x=y; d=\"q\""}};
  EXPECT_THAT(ParseCookies(headers),
              ElementsAre(Pair("a", "1"), Pair("b", "2"), Pair("c", "x=y"), Pair("d", "\"q\"")));
}

TEST(KeyTest, QueryOrderDoesNotMatter) {
  EXPECT_EQ(DefaultCacheKey(Get("/search", "q=tea&page=2"), {}),
            DefaultCacheKey(Get("/search", "page=2&q=tea"), {}));
}

TEST(KeyTest, DifferentQueryValuesDiffer) {
  EXPECT_NE(DefaultCacheKey(Get("/search", "q=tea"), {}),
            DefaultCacheKey(Get("/search", "q=coffee"), {}));
}

TEST(KeyTest, UndeclaredQueryParametersIgnoredWhenDeclared) {
  KeyOptions options;
  options.query_params = std::vector<std::string>{"q"};
  EXPECT_EQ(DefaultCacheKey(Get("/search", "q=tea&utm=1"), options),
            DefaultCacheKey(Get("/search", "q=tea&utm=2"), options));
}

TEST(KeyTest, PathHostAndMethodAreParts) {
  Request other_host = Get("/a");
  other_host.host = "other.example.com";
  Request upper_host = Get("/a");
  upper_host.host = "EXAMPLE.com";
  EXPECT_NE(DefaultCacheKey(Get("/a"), {}), DefaultCacheKey(Get("/b"), {}));
  EXPECT_NE(DefaultCacheKey(Get("/a"), {}), DefaultCacheKey(other_host, {}));
  EXPECT_EQ(DefaultCacheKey(Get("/a"), {}), DefaultCacheKey(upper_host, {}));
}

TEST(KeyTest, HeadSharesTheGetKey) {
  Request head = Get("/a");
  head.method = "HEAD";
  EXPECT_EQ(DefaultCacheKey(head, {}), DefaultCacheKey(Get("/a"), {}));
}

TEST(KeyTest, VaryHeadersArePartOfDefaultKey) {
  KeyOptions options;
  options.vary = {"Accept-Language"};
  const std::string en = DefaultCacheKey(Get("/l", "", {{"Accept-Language", "en"}}), options);
  const std::string ru = DefaultCacheKey(Get("/l", "", {{"accept-language", "ru"}}), options);
  const std::string en_again = DefaultCacheKey(Get("/l", "", {{"ACCEPT-LANGUAGE", "en"}}), options);
  EXPECT_NE(en, ru);
  EXPECT_EQ(en, en_again);
}

TEST(KeyTest, HeadersNotListedInVaryDoNotMatter) {
  EXPECT_EQ(DefaultCacheKey(Get("/l", "", {{"Accept-Language", "en"}}), {}),
            DefaultCacheKey(Get("/l", "", {{"Accept-Language", "ru"}}), {}));
}

TEST(KeyTest, VaryNameOrderAndCaseDoNotMatter) {
  Request request = Get("/l", "", {{"A", "1"}, {"B", "2"}});
  EXPECT_EQ(DefaultCacheKey(request, KeyOptions{{"a", "B"}, std::nullopt}),
            DefaultCacheKey(request, KeyOptions{{"b", "A"}, std::nullopt}));
}

TEST(KeyTest, PathTagIsReadableOrHashedWhenLong) {
  EXPECT_EQ(PathTag("/items/7"), "path:/items/7");
  EXPECT_THAT(PathTag("/" + std::string(300, 'x')), MatchesRegex("path:#[0-9a-f]{32}"));
}

}  // namespace
}  // namespace larder::http

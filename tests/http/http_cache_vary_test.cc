// The pipeline honours the Vary a handler sets (RFC 9111 section 4.1): each variant of a URL is
// stored side by side, a request is served only the variant its headers select, and invalidating
// the path removes every variant.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheVaryTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    // A page in the language asked for, saying so in Vary.
    handler_ = [](const Request& request, int render) {
      return Response{200,
                      {{"Vary", "Accept-Language"}},
                      absl::StrCat(request.headers.Get("Accept-Language").value_or("default"),
                                   " render ", render)};
    };
  }
  Response SendLanguage(const std::string& language) {
    return Send(Get("/page", {{"Accept-Language", language}}));
  }
};

TEST_F(HttpCacheVaryTest, GermanPageIsNotServedToAnEnglishRequest) {
  SendLanguage("de");
  const Response english = SendLanguage("en");
  EXPECT_EQ(english.body, "en render 2");
  EXPECT_EQ(Header(english, "X-Cache"), "MISS");
}

TEST_F(HttpCacheVaryTest, VariantsOfOneUrlAreStoredSideBySide) {
  SendLanguage("de");
  SendLanguage("en");
  const Response german = SendLanguage("de");
  const Response english = SendLanguage("en");
  EXPECT_EQ(Header(german, "X-Cache"), "HIT");
  EXPECT_EQ(german.body, "de render 1");
  EXPECT_EQ(Header(english, "X-Cache"), "HIT");
  EXPECT_EQ(english.body, "en render 2");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheVaryTest, AbsentHeaderMatchesAbsentHeader) {
  Send(Get("/page"));
  const Response again = Send(Get("/page"));
  EXPECT_EQ(Header(again, "X-Cache"), "HIT");
  EXPECT_EQ(Header(SendLanguage("de"), "X-Cache"), "MISS");
}

TEST_F(HttpCacheVaryTest, ValuesAreNormalisedBeforeComparing) {
  Send(Get("/page", {{"Accept-Language", "de,  en"}}));
  const Response same = Send(Get("/page", {{"accept-language", "de"}, {"Accept-Language", "en"}}));
  EXPECT_EQ(Header(same, "X-Cache"), "HIT");
}

TEST_F(HttpCacheVaryTest, InvalidatingThePathRemovesEveryVariant) {
  SendLanguage("de");
  SendLanguage("en");
  ASSERT_TRUE(cache_->InvalidatePath("items", "/page").ok());
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Header(SendLanguage("de"), "X-Cache"), "MISS");
}

TEST_F(HttpCacheVaryTest, RouteVaryAndResponseVaryAreBothHonoured) {
  policy_.vary = {"Accept"};
  Send(Get("/page", {{"Accept", "text/html"}, {"Accept-Language", "de"}}));
  const Response json =
      Send(Get("/page", {{"Accept", "application/json"}, {"Accept-Language", "de"}}));
  const Response english = Send(Get("/page", {{"Accept", "text/html"}, {"Accept-Language", "en"}}));
  EXPECT_EQ(Header(json, "X-Cache"), "MISS");
  EXPECT_EQ(Header(english, "X-Cache"), "MISS");
  EXPECT_EQ(Header(english, "Vary"), "Accept-Language, Accept");
}

TEST_F(HttpCacheVaryTest, VaryStarIsNeverStored) {
  handler_ = [](const Request&, int render) {
    return Response{200, {{"Vary", "*"}}, absl::StrCat("render ", render)};
  };
  Send(Get("/page"));
  EXPECT_EQ(Send(Get("/page")).body, "render 2");
  EXPECT_EQ(store_->size(), 0u);
}

}  // namespace
}  // namespace larder::http::testing

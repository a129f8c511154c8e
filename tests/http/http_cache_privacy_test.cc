// The pipeline keeps one user's responses away from another: requests carrying Cookie bypass
// the shared cache unless the route says which cookies matter (vary_cookies) or that none do
// (ignore_cookies); Set-Cookie is never stored nor replayed.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/storable.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;

class HttpCachePrivacyTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    // A page that greets whoever's session cookie it sees.
    handler_ = [](const Request& request, int render) {
      return Response{
          200,
          {},
          absl::StrCat(request.headers.Get("Cookie").value_or("anonymous"), " render ", render)};
    };
  }
};

TEST_F(HttpCachePrivacyTest, CookieRequestsDoNotShareCachedResponses) {
  const Response alice = Send(Get("/account", {{"Cookie", "session=alice"}}));
  const Response bob = Send(Get("/account", {{"Cookie", "session=bob"}}));
  EXPECT_EQ(alice.body, "session=alice render 1");
  EXPECT_EQ(bob.body, "session=bob render 2");
  EXPECT_EQ(Header(bob, "X-Cache"), "MISS");
  EXPECT_EQ(Header(bob, "Cache-Status"), "larder; fwd=bypass; detail=cookie");
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(store_->lookups(), 0);
}

TEST_F(HttpCachePrivacyTest, CookieRequestDoesNotReadWhatAnonymousRequestsStored) {
  Send(Get("/account"));
  const Response alice = Send(Get("/account", {{"Cookie", "session=alice"}}));
  EXPECT_EQ(alice.body, "session=alice render 2");
}

TEST_F(HttpCachePrivacyTest, CookieBypassIsPrivateForDownstreamCaches) {
  policy_.client.is_public = true;
  policy_.client.max_age = absl::Seconds(60);
  const Response alice = Send(Get("/account", {{"Cookie", "session=alice"}}));
  EXPECT_EQ(Header(alice, "Cache-Control"), "private, max-age=60");
}

TEST_F(HttpCachePrivacyTest, RouteIgnoringCookiesSharesOneResponse) {
  policy_.ignore_cookies = true;
  Send(Get("/news", {{"Cookie", "session=alice"}}));
  const Response bob = Send(Get("/news", {{"Cookie", "session=bob"}}));
  EXPECT_EQ(Header(bob, "X-Cache"), "HIT");
  EXPECT_EQ(renders(), 1);
}

TEST_F(HttpCachePrivacyTest, VaryCookiesSelectsByTheNamedCookiesOnlyOnceTheKeyCarriesThem) {
  policy_.vary_cookies = {"lang"};
  Send(Get("/home", {{"Cookie", "lang=de; session=alice"}}));
  const Response bob = Send(Get("/home", {{"Cookie", "lang=en; session=bob"}}));
  EXPECT_EQ(bob.body, "lang=en; session=bob render 2");
  if (CookiesInKey()) {
    const Response carol = Send(Get("/home", {{"Cookie", "session=carol; lang=de"}}));
    EXPECT_EQ(Header(carol, "X-Cache"), "HIT");
    EXPECT_EQ(carol.body, "lang=de; session=alice render 1");
  } else {
    // Until the key can select by cookie, a vary_cookies route keeps cookie requests private.
    EXPECT_EQ(Header(bob, "Cache-Status"), "larder; fwd=bypass; detail=cookie");
    EXPECT_EQ(store_->size(), 0u);
  }
}

TEST_F(HttpCachePrivacyTest, VaryCookiesWithTheRoutesOwnKeyBuilderUsesIt) {
  policy_.vary_cookies = {"lang"};
  policy_.key_builder = [](const Request& request) {
    return absl::StrCat(request.path, request.headers.Get("Cookie").value_or(""));
  };
  Send(Get("/home", {{"Cookie", "lang=de"}}));
  EXPECT_EQ(Header(Send(Get("/home", {{"Cookie", "lang=de"}})), "X-Cache"), "HIT");
  EXPECT_EQ(Header(Send(Get("/home", {{"Cookie", "lang=en"}})), "X-Cache"), "MISS");
}

TEST_F(HttpCachePrivacyTest, SetCookieIsNeverStoredNorReplayed) {
  policy_.ignore_cookies = true;
  handler_ = [](const Request&, int render) {
    return Response{200, {{"Set-Cookie", "session=fresh"}}, absl::StrCat("render ", render)};
  };
  const Response first = Send(Get("/login-page"));
  const Response second = Send(Get("/login-page"));
  EXPECT_EQ(Header(first, "Set-Cookie"), "session=fresh");
  EXPECT_EQ(second.body, "render 2");
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_THAT(Header(first, "Cache-Control"), HasSubstr("private"));
}

TEST_F(HttpCachePrivacyTest, AuthorizationStillBypassesUnlessShared) {
  policy_.ignore_cookies = true;
  const Response first = Send(Get("/me", {{"Authorization", "Bearer a"}}));
  EXPECT_EQ(Header(first, "Cache-Status"), "larder; fwd=bypass; detail=authorization");
  policy_.shared = true;
  Send(Get("/me", {{"Authorization", "Bearer a"}}));
  EXPECT_EQ(Header(Send(Get("/me", {{"Authorization", "Bearer b"}})), "X-Cache"), "HIT");
}

}  // namespace
}  // namespace larder::http::testing

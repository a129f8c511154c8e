// The pipeline's behaviour over the in-memory test double: keys, headers, conditional requests,
// request directives, what is never stored, invalidation and checks. Many cases are ported from
// the test suites of fastapi-cache, fastapi-caching-route and FastAPI-CacheX, named after the
// behaviour they check.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;

class HttpCacheTest : public HttpCacheFixture {};

TEST_F(HttpCacheTest, MissThenHitRunsTheHandlerOnce) {
  const Response miss = Send(Get("/items/1"));
  const Response hit = Send(Get("/items/1"));
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(miss.body, "{\"render\":1}");
  EXPECT_EQ(hit.body, miss.body);
  EXPECT_EQ(Header(miss, "X-Cache"), "MISS");
  EXPECT_EQ(Header(miss, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(Header(hit, "Cache-Status"), "larder; hit; ttl=30");
  EXPECT_EQ(Header(hit, "Content-Type"), "application/json");
}

TEST_F(HttpCacheTest, ExpiredEntryIsAMissAgain) {
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(31));
  const Response again = Send(Get("/items/1"));
  EXPECT_EQ(Header(again, "X-Cache"), "MISS");
  EXPECT_EQ(again.body, "{\"render\":2}");
}

TEST_F(HttpCacheTest, HitSendsTheAgeOfTheStoredResponse) {
  const Response miss = Send(Get("/items/1"));
  EXPECT_FALSE(miss.headers.Has("Age"));
  clock_.Advance(absl::Milliseconds(7900));
  const Response hit = Send(Get("/items/1"));
  EXPECT_EQ(Header(hit, "Age"), "7");
  EXPECT_EQ(Header(hit, "Cache-Status"), "larder; hit; ttl=22");
  EXPECT_EQ(hit.headers.GetAll("Age").size(), 1u);
}

TEST_F(HttpCacheTest, HandlerAgeHeaderIsNotReplayedButCountsInTheServedAge) {
  handler_ = [](const Request&, int) { return Response{200, {{"Age", "10"}}, "x"}; };
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(Send(Get("/a")).headers.GetAll("Age"), std::vector<std::string>{"13"});
}

TEST_F(HttpCacheTest, EtagIsStrongAndTheSameInEveryProcess) {
  const Response miss = Send(Get("/items/1"));
  EXPECT_EQ(Header(miss, "ETag"), StrongEtagFor("{\"render\":1}"));
  EXPECT_EQ(Header(Send(Get("/items/1")), "ETag"), Header(miss, "ETag"));
}

TEST_F(HttpCacheTest, EndpointEtagIsPreserved) {
  handler_ = [](const Request&, int) { return Response{200, {{"ETag", "W/\"custom\""}}, "x"}; };
  EXPECT_EQ(Header(Send(Get("/")), "ETag"), "W/\"custom\"");
  EXPECT_EQ(Header(Send(Get("/")), "ETag"), "W/\"custom\"");
  const Response revalidated = Send(Get("/", {{"If-None-Match", "\"custom\""}}));
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_EQ(Header(revalidated, "ETag"), "W/\"custom\"");
  EXPECT_EQ(revalidated.body, "");
}

struct EtagCase {
  std::string name;
  std::function<std::string(const std::string&)> if_none_match;
  int status;
};

class HttpCacheEtagTest : public HttpCacheFixture,
                          public ::testing::WithParamInterface<EtagCase> {};

TEST_P(HttpCacheEtagTest, IfNoneMatchOnAHit) {
  const std::string etag = Header(Send(Get("/cached")), "ETag");
  const Response response =
      Send(Get("/cached", {{"If-None-Match", GetParam().if_none_match(etag)}}));
  EXPECT_EQ(response.status, GetParam().status);
  EXPECT_EQ(Header(response, "X-Cache"), "HIT");
  EXPECT_EQ(response.body.empty(), GetParam().status == 304);
  EXPECT_EQ(renders(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Ported, HttpCacheEtagTest,
    ::testing::Values(
        EtagCase{"Valid", [](const std::string& e) { return e; }, 304},
        EtagCase{"Invalid", [](const std::string&) { return "\"invalid\""; }, 200},
        EtagCase{"ValidWithWeakPrefix", [](const std::string& e) { return "W/" + e; }, 304},
        EtagCase{"ValidInList", [](const std::string& e) { return "\"invalid\", W/" + e; }, 304},
        EtagCase{"Wildcard", [](const std::string&) { return "*"; }, 304},
        EtagCase{"PlainStringComparisonWouldFail",
                 [](const std::string& e) { return " " + e + " ,\"x\""; }, 304}),
    [](const ::testing::TestParamInfo<EtagCase>& info) { return info.param.name; });

TEST_F(HttpCacheTest, NotModifiedCarriesTheHeadersA200Would) {
  policy_.vary = {"Accept-Language"};
  policy_.client.max_age = absl::Seconds(30);
  handler_ = [](const Request&, int) {
    return Response{200,
                    {{"Expires", "Thu, 01 Jan 2026 00:00:30 GMT"},
                     {"Content-Location", "/items/1.json"},
                     {"Content-Type", "application/json"}},
                    "{}"};
  };
  const Response full = Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(2));
  const Response not_modified = Send(Get("/items/1", {{"If-None-Match", Header(full, "ETag")}}));
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.body, "");
  EXPECT_EQ(Header(not_modified, "ETag"), Header(full, "ETag"));
  EXPECT_EQ(Header(not_modified, "Cache-Control"), "max-age=30");
  EXPECT_EQ(Header(not_modified, "Vary"), "Accept-Language");
  EXPECT_EQ(Header(not_modified, "Expires"), "Thu, 01 Jan 2026 00:00:30 GMT");
  EXPECT_EQ(Header(not_modified, "Content-Location"), "/items/1.json");
  EXPECT_EQ(Header(not_modified, "Age"), "2");
  EXPECT_EQ(Header(not_modified, "X-Cache"), "HIT");
  EXPECT_FALSE(not_modified.headers.Has("Content-Type"));
  EXPECT_EQ(Responses("not_modified"), 1);
}

TEST_F(HttpCacheTest, IfNoneMatchOnAFreshRenderAnswers304) {
  const std::string etag = StrongEtagFor("{\"render\":1}");
  const Response response = Send(Get("/items/1", {{"If-None-Match", etag}}));
  EXPECT_EQ(response.status, 304);
  EXPECT_EQ(Header(response, "X-Cache"), "MISS");
  EXPECT_EQ(Header(response, "ETag"), etag);
  EXPECT_EQ(Header(response, "Cache-Control"), "no-cache");
  EXPECT_EQ(store_->size(), 1u);  // The full response was stored all the same.
}

TEST_F(HttpCacheTest, ErrorResponseNeverAnswers304) {
  handler_ = [](const Request&, int) { return Response{410, {}, "gone"}; };
  const Response response = Send(Get("/maybe", {{"If-None-Match", "*"}}));
  EXPECT_EQ(response.status, 410);
  EXPECT_EQ(response.body, "gone");
}

TEST_F(HttpCacheTest, DefaultCacheControlIsNoCache) {
  EXPECT_EQ(Header(Send(Get("/default")), "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(Send(Get("/default")), "Cache-Control"), "no-cache");
}

TEST_F(HttpCacheTest, CacheControlComesFromThePolicyOnMissAndHit) {
  policy_.client.is_public = true;
  policy_.client.max_age = absl::Seconds(30);
  EXPECT_EQ(Header(Send(Get("/c")), "Cache-Control"), "public, max-age=30");
  EXPECT_EQ(Header(Send(Get("/c")), "Cache-Control"), "public, max-age=30");
}

TEST_F(HttpCacheTest, RequestNoStoreRendersAndKeepsTheStoredEntry) {
  Send(Get("/items/1"));
  const Response fresh = Send(Get("/items/1", {{"Cache-Control", "No-Store"}}));
  EXPECT_EQ(fresh.body, "{\"render\":2}");
  EXPECT_EQ(Header(fresh, "Cache-Status"), "larder; fwd=request; detail=no-store");
  EXPECT_EQ(Send(Get("/items/1")).body, "{\"render\":1}");
}

TEST_F(HttpCacheTest, RequestNoCacheRendersAndReplacesTheStoredEntry) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  const Response fresh = Send(Get("/items/1", {{"Cache-Control", "max-stale=5, NO-CACHE"}}));
  EXPECT_EQ(fresh.body, "{\"render\":2}");
  EXPECT_EQ(Header(fresh, "Cache-Status"), "larder; fwd=request; stored");
  const Response hit = Send(Get("/items/1"));
  EXPECT_EQ(hit.body, "{\"render\":2}");
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
}

TEST_F(HttpCacheTest, RequestMaxAgeZeroRendersAndReplacesTheStoredEntry) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  EXPECT_EQ(Send(Get("/items/1", {{"cache-control", " max-age = 0 "}})).body, "{\"render\":2}");
  EXPECT_EQ(Send(Get("/items/1")).body, "{\"render\":2}");
}

TEST_F(HttpCacheTest, ReturnedErrorIsNotCachedAndKeepsItsStatus) {
  handler_ = [](const Request&, int) { return Response{404, {}, "{\"error\":\"not found\"}"}; };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Send(Get("/missing")).status, 404);
  EXPECT_EQ(renders(), 3);
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheTest, ServerErrorIsNeverCachedEvenWhenListed) {
  policy_.cached_statuses = {200, 500};
  handler_ = [](const Request&, int) { return Response{500, {}, "kaboom"}; };
  EXPECT_EQ(Send(Get("/boom")).status, 500);
  EXPECT_EQ(Send(Get("/boom")).status, 500);
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheTest, HandlerExceptionPropagatesAndNothingIsStored) {
  handler_ = [](const Request&, int) -> Response { throw std::runtime_error("handler failed"); };
  EXPECT_THROW(Send(Get("/boom")), std::runtime_error);
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheTest, ErrorDoesNotOverwriteAGoodCachedEntry) {
  policy_.honor_client_refresh = true;
  bool fail = false;
  handler_ = [&](const Request&, int) {
    return fail ? Response{503, {}, "down"} : Response{200, {}, "good"};
  };
  Send(Get("/flaky"));
  fail = true;
  EXPECT_EQ(Send(Get("/flaky", {{"Cache-Control", "no-cache"}})).status, 503);
  EXPECT_EQ(store_->Only("items")->first.response.body, "good");
}

TEST_F(HttpCacheTest, CacheHitRestoresCustomHeadersAndSuccessStatus) {
  policy_.cached_statuses = {200, 203};
  handler_ = [](const Request&, int) {
    return Response{203, {{"X-Total-Count", "42"}, {"Content-Language", "en"}}, "body"};
  };
  Send(Get("/report"));
  const Response hit = Send(Get("/report"));
  EXPECT_EQ(hit.status, 203);
  EXPECT_EQ(Header(hit, "X-Total-Count"), "42");
  EXPECT_EQ(Header(hit, "Content-Language"), "en");
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
}

class NeverStoredTest : public HttpCacheFixture,
                        public ::testing::WithParamInterface<std::pair<std::string, Headers>> {};

TEST_P(NeverStoredTest, ResponseIsRenderedEveryTimeWithTheHandlersHeaders) {
  const Headers headers = GetParam().second;
  handler_ = [&](const Request&, int render) {
    return Response{200, headers, absl::StrCat(render)};
  };
  EXPECT_EQ(Send(Get("/marked")).body, "1");
  const Response second = Send(Get("/marked"));
  EXPECT_EQ(second.body, "2");
  EXPECT_EQ(store_->size(), 0u);
  if (headers.Has("Cache-Control")) {
    EXPECT_EQ(Header(second, "Cache-Control"), *headers.Get("Cache-Control"));
  }
  EXPECT_EQ(Header(second, "Cache-Status"), "larder; fwd=uri-miss");
}

INSTANTIATE_TEST_SUITE_P(
    Ported, NeverStoredTest,
    ::testing::Values(
        std::make_pair("Private", Headers{{"Cache-Control", "private"}}),
        std::make_pair("NoStore", Headers{{"Cache-Control", "no-store"}}),
        std::make_pair("PrivateCapitalised", Headers{{"Cache-Control", "Private, max-age=5"}}),
        std::make_pair("NoStoreOddSpacing", Headers{{"Cache-Control", "max-age=5 , NO-STORE"}}),
        std::make_pair("SetCookie", Headers{{"Set-Cookie", "sid=secret; Path=/"}}),
        std::make_pair("VaryWildcard", Headers{{"Vary", "*"}})),
    [](const auto& info) { return info.param.first; });

TEST_F(HttpCacheTest, SetCookieOnAPublicRouteIsSentAsPrivate) {
  policy_.client.is_public = true;
  policy_.client.max_age = absl::Seconds(60);
  handler_ = [](const Request&, int) { return Response{200, {{"Set-Cookie", "seen=1"}}, "x"}; };
  const Response response = Send(Get("/banner"));
  EXPECT_EQ(Header(response, "Cache-Control"), "private, max-age=60");
  EXPECT_EQ(Header(response, "Set-Cookie"), "seen=1");
}

TEST_F(HttpCacheTest, OnePersonsPrivateResponseIsNotServedToAnother) {
  handler_ = [](const Request& r, int) {
    return Response{200,
                    {{"Cache-Control", "private, no-store"}},
                    r.headers.Get("Authorization").value_or("anonymous")};
  };
  EXPECT_EQ(Send(Get("/me", {{"Authorization", "Bearer alice"}})).body, "Bearer alice");
  EXPECT_EQ(Send(Get("/me", {{"Authorization", "Bearer bob"}})).body, "Bearer bob");
  EXPECT_EQ(Send(Get("/me")).body, "anonymous");
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheTest, AuthorizationRequestBypassesTheStore) {
  handler_ = [](const Request& r, int) {
    return Response{200, {}, r.headers.Get("Authorization").value_or("anonymous")};
  };
  EXPECT_EQ(Send(Get("/greeting")).body, "anonymous");
  const int lookups = store_->lookups();
  const Response alice = Send(Get("/greeting", {{"Authorization", "Bearer alice"}}));
  const Response bob = Send(Get("/greeting", {{"Authorization", "Bearer bob"}}));
  EXPECT_EQ(alice.body, "Bearer alice");
  EXPECT_EQ(bob.body, "Bearer bob");
  EXPECT_EQ(Header(bob, "Cache-Control"), "private, no-cache");
  EXPECT_EQ(Header(bob, "Cache-Status"), "larder; fwd=bypass; detail=authorization");
  EXPECT_EQ(store_->lookups(), lookups);  // Neither read nor written.
  EXPECT_EQ(Send(Get("/greeting")).body, "anonymous");
}

TEST_F(HttpCacheTest, AuthorizationRequestStillRevalidates) {
  handler_ = [](const Request&, int) { return Response{200, {}, "{\"doc\":1}"}; };
  const Request alice = Get("/doc", {{"Authorization", "Bearer alice"}});
  const std::string etag = Header(Send(alice), "ETag");
  Request again = alice;
  again.headers.Add("If-None-Match", etag);
  EXPECT_EQ(Send(again).status, 304);
}

TEST_F(HttpCacheTest, SharedRouteCachesAuthorizationRequests) {
  policy_.shared = true;
  Send(Get("/catalog", {{"Authorization", "Bearer alice"}}));
  const Response bob = Send(Get("/catalog", {{"Authorization", "Bearer bob"}}));
  EXPECT_EQ(bob.body, "{\"render\":1}");
  EXPECT_EQ(renders(), 1);
}

TEST_F(HttpCacheTest, SharedRouteWithPerUserKeyCachesPerUserEntries) {
  policy_.shared = true;
  policy_.key_builder = [](const Request& r) {
    return absl::StrCat(r.path, "|", r.headers.Get("Authorization").value_or("anonymous"));
  };
  const Request alice = Get("/dashboard", {{"Authorization", "Bearer alice"}});
  Send(alice);
  EXPECT_EQ(Send(alice).body, "{\"render\":1}");
  EXPECT_EQ(Send(Get("/dashboard", {{"Authorization", "Bearer bob"}})).body, "{\"render\":2}");
}

}  // namespace
}  // namespace larder::http::testing

// HttpCache::HandleHeld over the in-memory test double in held mode (a store with a copy of its
// records in this process, as a near cache is): a fresh held hit is answered exactly as Handle
// answers it and counted once, with no lookup of the store; everything Handle would not answer
// from a fresh stored response (nothing held, stale, bypassed requests, an unheld variant,
// checks, refused records) is nullopt and counts nothing.
#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/key.h"
#include "tests/http/bypass_cases.h"
#include "tests/http/http_cache_fixture.h"
#include "tests/http/poisoned_records.h"

namespace larder::http::testing {
namespace {

class HttpCacheHeldTest : public HttpCacheFixture {
 protected:
  std::optional<Response> Held(const Request& request) {
    return cache_->HandleHeld(request, policy_);
  }
};

TEST_F(HttpCacheHeldTest, FreshHeldHitIsWhatHandleAnswersCountedOnce) {
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(3));
  store_->set_held(true);
  const int lookups = store_->lookups();

  const std::optional<Response> held = Held(Get("/items/1"));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(store_->lookups(), lookups);  // No lookup of the store itself.
  EXPECT_EQ(Responses("hit"), 1);
  EXPECT_EQ(HeldHits(), 1);

  const Response handled = Send(Get("/items/1"));
  EXPECT_EQ(held->status, handled.status);
  EXPECT_EQ(held->body, handled.body);
  EXPECT_EQ(held->headers, handled.headers);
  EXPECT_EQ(Header(*held, "Cache-Status"), "larder; hit; ttl=27");
  EXPECT_EQ(Header(*held, "Age"), "3");
  EXPECT_EQ(Header(*held, "X-Cache"), "HIT");
  EXPECT_EQ(held->body, "{\"render\":1}");
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(Responses("hit"), 2);
  EXPECT_EQ(HeldHits(), 1);  // Handle's hit is the store's own Lookup.
}

TEST_F(HttpCacheHeldTest, NothingHeldIsNulloptAndCountsNothing) {
  Send(Get("/items/1"));
  const double responses = AllResponses();
  EXPECT_FALSE(Held(Get("/items/1")).has_value());  // Stored, but not held.
  store_->set_held(true);
  EXPECT_FALSE(Held(Get("/items/2")).has_value());  // Held mode, nothing stored.
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(store_->held_lookups(), 2);
}

TEST_F(HttpCacheHeldTest, StaleHeldResponseIsNullopt) {
  policy_.stale_while_revalidate = absl::Minutes(1);
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(31));
  store_->set_held(true);
  EXPECT_FALSE(Held(Get("/items/1")).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(Responses("stale"), 0);
  // Still stored: Handle answers it stale.
  EXPECT_EQ(Header(Send(Get("/items/1")), "X-Cache"), "STALE");
}

TEST_F(HttpCacheHeldTest, ResponseStoredAsNoCacheIsNullopt) {
  handler_ = [](const Request&, int render) {
    return Response{200, {{"Cache-Control", "no-cache"}}, absl::StrCat("r", render)};
  };
  Send(Get("/items/1"));
  ASSERT_EQ(store_->size(), 1u);  // Stored with its ETag, to be revalidated on every use.
  store_->set_held(true);
  EXPECT_FALSE(Held(Get("/items/1")).has_value());
  EXPECT_EQ(HeldHits(), 0);
}

class HttpCacheHeldBypassTest : public HttpCacheHeldTest,
                                public ::testing::WithParamInterface<BypassCase> {};

TEST_P(HttpCacheHeldBypassTest, IsNulloptAndCountsNothing) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(3));
  store_->set_held(true);
  const double responses = AllResponses();
  EXPECT_FALSE(Held(With(Get("/items/1", GetParam().headers), GetParam().method)).has_value());
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(HeldHits(), 0);
}

// Also a client max-age the held record is older than: Handle renders.
INSTANTIATE_TEST_SUITE_P(Requests, HttpCacheHeldBypassTest, ::testing::ValuesIn([] {
                           std::vector<BypassCase> cases = RequestsHandleDecidesFirst();
                           cases.push_back({"OlderThanMaxAge", {{"Cache-Control", "max-age=2"}}});
                           return cases;
                         }()),
                         BypassCaseName);

TEST_F(HttpCacheHeldTest, ClientRefreshIgnoredByTheRouteIsServedHeldAsHandleServesIt) {
  Send(Get("/items/1"));  // honor_client_refresh is off: no-cache does not force a render.
  store_->set_held(true);
  const std::optional<Response> held = Held(Get("/items/1", {{"Cache-Control", "no-cache"}}));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(Header(*held, "X-Cache"), "HIT");
  EXPECT_EQ(HeldHits(), 1);
}

TEST_F(HttpCacheHeldTest, MatchingIfNoneMatchIs304) {
  const std::string etag = Header(Send(Get("/items/1")), "ETag");
  clock_.Advance(absl::Seconds(2));
  store_->set_held(true);
  const Request conditional = Get("/items/1", {{"If-None-Match", etag}});
  const std::optional<Response> held = Held(conditional);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->status, 304);
  EXPECT_EQ(held->body, "");
  EXPECT_EQ(Header(*held, "ETag"), etag);
  EXPECT_EQ(Responses("not_modified"), 1);
  EXPECT_EQ(Responses("hit"), 0);
  EXPECT_EQ(HeldHits(), 1);
  const Response handled = Send(conditional);
  EXPECT_EQ(held->status, handled.status);
  EXPECT_EQ(held->headers, handled.headers);
}

class HttpCacheHeldVaryTest : public HttpCacheHeldTest {
 protected:
  void SetUp() override {
    HttpCacheHeldTest::SetUp();
    handler_ = [](const Request& request, int render) {
      return Response{200,
                      {{"Vary", "Accept-Language"}},
                      absl::StrCat(request.headers.Get("Accept-Language").value_or("default"),
                                   " render ", render)};
    };
    Send(Language("de"));
    Send(Language("en"));  // The base key now holds the English variant.
    store_->set_held(true);
  }
  static Request Language(const std::string& language) {
    return Get("/page", {{"Accept-Language", language}});
  }
};

TEST_F(HttpCacheHeldVaryTest, HeldVariantsAreServed) {
  const std::optional<Response> english = Held(Language("en"));
  const std::optional<Response> german = Held(Language("de"));
  ASSERT_TRUE(english.has_value() && german.has_value());
  EXPECT_EQ(english->body, "en render 2");
  EXPECT_EQ(german->body, "de render 1");
  EXPECT_EQ(Header(*german, "X-Cache"), "HIT");
  EXPECT_EQ(HeldHits(), 2);
}

TEST_F(HttpCacheHeldVaryTest, VariantNotHeldIsNullopt) {
  // Only base keys are held; variant keys are the base key, "~" and the variant's hash.
  store_->set_held_filter([](absl::string_view key) { return !absl::StrContains(key, '~'); });
  EXPECT_FALSE(Held(Language("de")).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(Held(Language("en")).value_or(Response{}).body, "en render 2");  // The base's own.
  // Handle finds the German variant in the store.
  EXPECT_EQ(Send(Language("de")).body, "de render 1");
}

TEST_F(HttpCacheHeldVaryTest, VariantNeverStoredIsNullopt) {
  EXPECT_FALSE(Held(Language("fr")).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(AllResponses(), 2);  // The two misses of SetUp.
}

TEST_F(HttpCacheHeldTest, RouteWithChecksBeforeLookupIsNullopt) {
  Send(Get("/items/1"));
  store_->set_held(true);
  int checks = 0;
  policy_.checks_before_lookup = {[&checks](const Request&) -> std::optional<Response> {
    ++checks;
    return std::nullopt;  // Lets every request through, but HandleHeld cannot run it.
  }};
  EXPECT_FALSE(Held(Get("/items/1")).has_value());
  EXPECT_EQ(checks, 0);
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(store_->held_lookups(), 0);
}

TEST_F(HttpCacheHeldTest, KeyBuilderDecliningIsNullopt) {
  policy_.key_builder = [](const Request&) { return std::string(); };
  store_->set_held(true);
  EXPECT_FALSE(Held(Get("/items/1")).has_value());
  EXPECT_EQ(store_->held_lookups(), 0);
}

TEST_F(HttpCacheHeldTest, RefusedHeldRecordIsNulloptAndNotCounted) {
  const std::vector<PoisonCase> cases = PoisonCases();
  const auto set_cookie = std::find_if(cases.begin(), cases.end(),
                                       [](const PoisonCase& c) { return c.name == "SetCookie"; });
  ASSERT_NE(set_cookie, cases.end());
  store_->PutRaw("items", DefaultCacheKey(Get("/items/1"), {}),
                 PoisonedBytes(*set_cookie, clock_.Now()), absl::Minutes(1));
  store_->set_held(true);
  EXPECT_FALSE(Held(Get("/items/1")).has_value());
  EXPECT_EQ(HeldHits(), 0);
  // Lookup counts a refused record; LookupHeld leaves that to the Handle that follows.
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "decode"}}),
            0);
}

}  // namespace
}  // namespace larder::http::testing

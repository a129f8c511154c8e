// The pipeline takes freshness from the response where RFC 9111 says it must: the response's
// own shorter lifetime, no-cache, must-revalidate, the upstream's Age and Date, and in
// FreshnessSource::kResponse mode its whole lifetime.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "larder/http/conditional.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheFreshnessTest : public HttpCacheFixture {
 protected:
  void Respond(Headers headers) {
    handler_ = [headers](const Request&, int render) {
      return Response{200, headers, absl::StrCat("render ", render)};
    };
  }
};

TEST_F(HttpCacheFreshnessTest, ShorterMaxAgeOfTheHandlerWinsOverTheTtl) {
  Respond({{"Cache-Control", "max-age=5"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(Send(Get("/a")).body, "render 2");
}

TEST_F(HttpCacheFreshnessTest, NoCacheResponseIsNeverServedWithoutRevalidation) {
  Respond({{"Cache-Control", "no-cache"}});
  Send(Get("/a"));
  EXPECT_EQ(Send(Get("/a")).body, "render 2");
}

TEST_F(HttpCacheFreshnessTest, MustRevalidateResponseIsNotServedStale) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  policy_.stale_if_error = absl::Seconds(60);
  Respond({{"Cache-Control", "must-revalidate"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  const Response second = Send(Get("/a"));
  EXPECT_EQ(second.body, "render 2");
  EXPECT_EQ(Header(second, "X-Cache"), "MISS");
  clock_.Advance(absl::Seconds(31));
  handler_ = [](const Request&, int) { return Response{503, {}, "down"}; };
  EXPECT_EQ(Send(Get("/a")).status, 503);
}

TEST_F(HttpCacheFreshnessTest, UpstreamAgeAndDateAreKeptInTheServedAge) {
  Respond({{"Age", "4"}, {"Date", FormatHttpDate(clock_.Now())}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(2));
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "Age"), "6");
  EXPECT_EQ(Header(hit, "Date"), FormatHttpDate(clock_.Now() - absl::Seconds(2)));
  clock_.Advance(absl::Seconds(25));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "MISS");  // 4 + 27 > 30
}

TEST_F(HttpCacheFreshnessTest, ResponseModeTakesTheLifetimeFromTheResponse) {
  policy_.freshness = FreshnessSource::kResponse;
  policy_.ttl = absl::Hours(1);
  Respond({{"Cache-Control", "public, max-age=100"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(99));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "HIT");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "MISS");
}

TEST_F(HttpCacheFreshnessTest, ResponseModeWithoutFreshnessDoesNotStore) {
  policy_.freshness = FreshnessSource::kResponse;
  Respond({});
  Send(Get("/a"));
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Send(Get("/a")).body, "render 2");
}

TEST_F(HttpCacheFreshnessTest, LarderKeepsTheEntryForItsLifetimeAndTheLongestStaleWindow) {
  policy_.stale_if_error = absl::Seconds(70);
  Respond({{"Cache-Control", "max-age=5"}});
  Send(Get("/a"));
  ASSERT_TRUE(store_->Only("items").has_value());
  EXPECT_EQ(store_->Only("items")->second, absl::Seconds(75));
}

TEST_F(HttpCacheFreshnessTest, AnEntryWithAValidatorIsKeptOneMoreTtlForRevalidation) {
  Respond({{"Cache-Control", "max-age=5"}});
  Send(Get("/a"));
  ASSERT_TRUE(store_->Only("items").has_value());
  EXPECT_EQ(store_->Only("items")->second, absl::Seconds(35));
}

}  // namespace
}  // namespace larder::http::testing

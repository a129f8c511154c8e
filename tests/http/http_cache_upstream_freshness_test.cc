// The pipeline in front of an upstream (FreshnessSource::kResponse): the route's
// response_default_ttl for responses stating no lifetime, and each stored response's own
// stale-while-revalidate / stale-if-error (RFC 5861) instead of the route's windows, with
// larder keeping the entry long enough for them. FakeClock only.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheUpstreamFreshnessTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    policy_.freshness = FreshnessSource::kResponse;
    policy_.ttl = absl::Hours(1);
  }
  // Background refreshes use the handler: none may outlive the test's members.
  void TearDown() override { cache_->WaitForRefreshes(); }
  // The handler answers `status` with `headers`; a render that `fails_` answers 503.
  void Respond(Headers headers, int status = 200) {
    handler_ = [this, headers, status](const Request&, int render) {
      if (fails_) return Response{503, {}, "down"};
      return Response{status, headers, absl::StrCat("render ", render)};
    };
  }
  absl::Duration Kept() { return store_->Only("items")->second; }

  bool fails_ = false;
};

TEST_F(HttpCacheUpstreamFreshnessTest, DefaultTtlStoresAResponseStatingNoLifetime) {
  policy_.response_default_ttl = absl::Seconds(20);
  Respond({{"Content-Type", "text/plain"}});
  EXPECT_EQ(Header(Send(Get("/a")), "Cache-Status"), "larder; fwd=uri-miss; stored");
  clock_.Advance(absl::Seconds(19));
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(Header(hit, "Cache-Status"), "larder; hit; ttl=1");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Send(Get("/a")).body, "render 2");
}

TEST_F(HttpCacheUpstreamFreshnessTest, DefaultTtlIsCappedAtTheTtl) {
  policy_.ttl = absl::Seconds(10);
  policy_.response_default_ttl = absl::Minutes(5);
  Respond({});
  Send(Get("/a"));
  EXPECT_EQ(Header(Send(Get("/a")), "Cache-Status"), "larder; hit; ttl=10");
}

TEST_F(HttpCacheUpstreamFreshnessTest, DefaultTtlNeverOverridesWhatTheResponseSays) {
  policy_.response_default_ttl = absl::Minutes(5);
  for (const char* cache_control : {"no-store", "private", "max-age=0", "s-maxage=0"}) {
    SCOPED_TRACE(cache_control);
    Respond({{"Cache-Control", cache_control}});
    Send(Get("/a"));
    EXPECT_EQ(store_->size(), 0u);
  }
  Respond({{"Cache-Control", "max-age=3"}});
  Send(Get("/a"));
  EXPECT_EQ(Header(Send(Get("/a")), "Cache-Status"), "larder; hit; ttl=3");
}

TEST_F(HttpCacheUpstreamFreshnessTest, DefaultTtlOnlyForStatusesALifetimeMayBeAssignedTo) {
  policy_.response_default_ttl = absl::Minutes(5);
  policy_.cached_statuses = {200, 302, 404};
  Respond({{"Location", "/b"}}, 302);
  Send(Get("/a"));
  EXPECT_EQ(store_->size(), 0u);
  Respond({{"Location", "/b"}, {"Cache-Control", "public"}}, 302);  // Explicitly cacheable.
  Send(Get("/a"));
  EXPECT_EQ(store_->size(), 1u);
  Respond({}, 404);
  Send(Get("/missing"));
  EXPECT_EQ(store_->size(), 2u);
}

TEST_F(HttpCacheUpstreamFreshnessTest, DefaultTtlIsIgnoredUnderPolicyFreshness) {
  policy_.freshness = FreshnessSource::kPolicy;
  policy_.ttl = absl::Seconds(30);
  policy_.response_default_ttl = absl::Seconds(5);
  Respond({});
  Send(Get("/a"));
  EXPECT_EQ(Header(Send(Get("/a")), "Cache-Status"), "larder; hit; ttl=30");
}

TEST_F(HttpCacheUpstreamFreshnessTest, TheResponsesStaleWhileRevalidateServesStale) {
  Respond({{"Cache-Control", "max-age=10, stale-while-revalidate=60"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(70));
  const Response stale = Send(Get("/a"));
  EXPECT_EQ(stale.body, "render 1");
  EXPECT_EQ(Header(stale, "Cache-Status"), "larder; hit; ttl=-60; detail=stale-while-revalidate");
  cache_->WaitForRefreshes();
  EXPECT_EQ(renders(), 2);
  EXPECT_EQ(Send(Get("/a")).body, "render 2");
}

TEST_F(HttpCacheUpstreamFreshnessTest, BeyondTheResponsesWindowItRendersInline) {
  policy_.stale_while_revalidate = absl::Minutes(10);  // The route's, replaced.
  Respond({{"Cache-Control", "max-age=10, stale-while-revalidate=5"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(16));
  const Response response = Send(Get("/a"));
  EXPECT_EQ(response.body, "render 2");
  EXPECT_EQ(Header(response, "X-Cache"), "MISS");
}

TEST_F(HttpCacheUpstreamFreshnessTest, TheRoutesWindowsApplyToResponsesStatingNone) {
  policy_.stale_while_revalidate = absl::Seconds(30);
  Respond({{"Cache-Control", "max-age=10"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(35));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "STALE");
}

TEST_F(HttpCacheUpstreamFreshnessTest, TheResponsesStaleIfErrorReplacesAFailedRender) {
  Respond({{"Cache-Control", "max-age=10, stale-if-error=300"}});
  Send(Get("/a"));
  fails_ = true;
  clock_.Advance(absl::Seconds(200));
  const Response response = Send(Get("/a"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "render 1");
  EXPECT_THAT(Header(response, "Cache-Status"), ::testing::HasSubstr("detail=stale-if-error"));
  clock_.Advance(absl::Seconds(111));  // 301 s past its freshness.
  EXPECT_EQ(Send(Get("/a")).status, 503);
}

TEST_F(HttpCacheUpstreamFreshnessTest, MustRevalidateStillForbidsServingStale) {
  for (const char* directive : {"must-revalidate", "proxy-revalidate"}) {
    SCOPED_TRACE(directive);
    const std::string path = absl::StrCat("/", directive);
    fails_ = false;
    Respond({{"Cache-Control", absl::StrCat("max-age=10, ", directive,
                                            ", stale-while-revalidate=60, stale-if-error=60")}});
    Send(Get(path));
    clock_.Advance(absl::Seconds(20));
    EXPECT_EQ(Header(Send(Get(path)), "X-Cache"), "MISS");
    clock_.Advance(absl::Seconds(20));
    fails_ = true;
    EXPECT_EQ(Send(Get(path)).status, 503);
  }
}

TEST_F(HttpCacheUpstreamFreshnessTest, UnderPolicyFreshnessTheRoutesWindowsWin) {
  policy_.freshness = FreshnessSource::kPolicy;
  policy_.ttl = absl::Seconds(10);
  Respond({{"Cache-Control", "stale-while-revalidate=60, stale-if-error=60"}});
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(15));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "MISS");
}

TEST_F(HttpCacheUpstreamFreshnessTest, LarderKeepsTheEntryForItsLifetimeAndItsOwnWindows) {
  policy_.stale_if_error = absl::Seconds(30);
  Respond({{"Cache-Control", "max-age=10, stale-while-revalidate=600"}});
  Send(Get("/a"));
  // Past its lifetime, the longest of its windows (600 s) and one ttl for its ETag (1 h).
  EXPECT_EQ(Kept(), absl::Seconds(10) + absl::Hours(1));
  policy_.ttl = absl::Seconds(60);
  Send(Get("/b"));
  EXPECT_EQ(cache_->InvalidatePath("items", "/a").value_or(-1), 1);
  EXPECT_EQ(Kept(), absl::Seconds(610));
}

TEST_F(HttpCacheUpstreamFreshnessTest, AResponseCannotMakeLarderKeepItBeyondADay) {
  policy_.ttl = absl::Seconds(60);
  Respond({{"Cache-Control", "max-age=60, stale-while-revalidate=99999999, stale-if-error=99999"}});
  Send(Get("/a"));
  EXPECT_EQ(Kept(), absl::Seconds(60) + absl::Hours(24));
  clock_.Advance(absl::Seconds(59) + absl::Hours(24));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "STALE");  // Near the capped window's end.
}

}  // namespace
}  // namespace larder::http::testing

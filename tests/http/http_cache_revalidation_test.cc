// Revalidation (RFC 9111 section 4.3): a stale stored response with a validator is revalidated
// by running the handler with If-None-Match / If-Modified-Since; its 304 freshens the stored
// entry and the client gets the stored body; a full response replaces it. A no-cache response
// (section 5.2.2.4) with a validator is stored and revalidated on every use, never served stale.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "larder/http/conditional.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheRevalidationTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    // Version 1 of a page; answers 304 when asked about the ETag it would send.
    handler_ = [this](const Request& request, int render) {
      seen_if_none_match_ = request.headers.Get("If-None-Match").value_or("");
      if (seen_if_none_match_ == "\"v1\"" && !changed_) {
        return WithCacheControl(
            Response{304, {{"ETag", "\"v1\""}, {"X-Checked", std::to_string(render)}}, ""});
      }
      return WithCacheControl(
          Response{200,
                   {{"ETag", changed_ ? "\"v2\"" : "\"v1\""}, {"X-Checked", "0"}},
                   absl::StrCat("render ", render)});
    };
  }
  // The response with `cache_control_` as its Cache-Control, when set.
  Response WithCacheControl(Response response) const {
    if (!cache_control_.empty()) response.headers.Set("Cache-Control", cache_control_);
    return response;
  }
  std::string seen_if_none_match_;
  bool changed_ = false;
  std::string cache_control_;
};

TEST_F(HttpCacheRevalidationTest, StaleEntryIsRevalidatedAndA304FreshensIt) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  const Response revalidated = Send(Get("/a"));
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  EXPECT_EQ(revalidated.status, 200);
  EXPECT_EQ(revalidated.body, "render 1");
  EXPECT_EQ(Header(revalidated, "X-Checked"), "2");
  EXPECT_EQ(Header(revalidated, "Cache-Status"), "larder; fwd=stale; stored; detail=revalidated");
  clock_.Advance(absl::Seconds(29));
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(Header(hit, "X-Checked"), "2");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheRevalidationTest, ClientsOwnConditionalGetsA304AfterRevalidation) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Send(Get("/a", {{"If-None-Match", "\"v1\""}})).status, 304);
}

TEST_F(HttpCacheRevalidationTest, FullResponseReplacesTheStoredOne) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  changed_ = true;
  const Response replaced = Send(Get("/a"));
  EXPECT_EQ(replaced.body, "render 2");
  EXPECT_EQ(Header(Send(Get("/a")), "ETag"), "\"v2\"");
}

TEST_F(HttpCacheRevalidationTest, LastModifiedIsSentAsIfModifiedSince) {
  const std::string last_modified = FormatHttpDate(clock_.Now() - absl::Hours(1));
  std::string seen;
  handler_ = [&](const Request& request, int render) {
    seen = request.headers.Get("If-Modified-Since").value_or("");
    return Response{200, {{"Last-Modified", last_modified}}, absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  Send(Get("/a"));
  EXPECT_EQ(seen, last_modified);
}

TEST_F(HttpCacheRevalidationTest, BackgroundRefreshAlsoRevalidates) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "STALE");
  cache_->WaitForRefreshes();
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "render 1");
  EXPECT_EQ(Header(hit, "X-Checked"), "2");
}

// A handler that cannot be replayed nor revalidated (WithHeaders is the default nullptr).
class PlainRouteHandler final : public RouteHandler {
 public:
  explicit PlainRouteHandler(std::function<Response()> render) : render_(std::move(render)) {}
  Response Render() override { return render_(); }
  std::unique_ptr<RouteHandler> Detach() const override { return nullptr; }

 private:
  std::function<Response()> render_;
};

class HttpCacheNoCacheTest : public HttpCacheRevalidationTest {
 protected:
  void SetUp() override {
    HttpCacheRevalidationTest::SetUp();
    cache_control_ = "no-cache";
  }
  double Collapsed() { return Metric("larder_http_collapsed_total", {{"route", "items"}}); }
};

TEST_F(HttpCacheNoCacheTest, IsStoredAndRevalidatedOnEveryUseWhileFresh) {
  const Response first = Send(Get("/a"));
  EXPECT_EQ(Header(first, "Cache-Status"), "larder; fwd=uri-miss; stored");
  for (int use = 2; use <= 3; ++use) {
    const Response revalidated = Send(Get("/a"));
    EXPECT_EQ(seen_if_none_match_, "\"v1\"");
    EXPECT_EQ(revalidated.status, 200);
    EXPECT_EQ(revalidated.body, "render 1");
    EXPECT_EQ(Header(revalidated, "X-Checked"), std::to_string(use));
    EXPECT_EQ(Header(revalidated, "X-Cache"), "MISS");
    EXPECT_EQ(Header(revalidated, "Cache-Status"), "larder; fwd=stale; stored; detail=revalidated");
  }
  EXPECT_EQ(renders(), 3);
}

TEST_F(HttpCacheNoCacheTest, QualifiedNoCacheIsRevalidatedLikeUnqualified) {
  cache_control_ = "no-cache=\"Set-Cookie\", max-age=600";
  Send(Get("/a"));
  const Response second = Send(Get("/a"));
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  EXPECT_EQ(second.body, "render 1");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheNoCacheTest, ClientsOwnConditionalGetsA304AfterRevalidation) {
  Send(Get("/a"));
  const Response response = Send(Get("/a", {{"If-None-Match", "\"v1\""}}));
  EXPECT_EQ(response.status, 304);
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheNoCacheTest, FullResponseReplacesTheStoredOne) {
  Send(Get("/a"));
  changed_ = true;
  const Response replaced = Send(Get("/a"));
  EXPECT_EQ(replaced.body, "render 2");
  EXPECT_EQ(Header(replaced, "Cache-Status"), "larder; fwd=stale; stored");
  Send(Get("/a"));
  EXPECT_EQ(seen_if_none_match_, "\"v2\"");
}

TEST_F(HttpCacheNoCacheTest, HandlerThatCannotRevalidateRendersInFullEveryTime) {
  for (int render = 1; render <= 3; ++render) {
    const Request request = Get("/a");
    PlainRouteHandler handler([this, &request] { return handler_(request, ++renders_); });
    const Response response = cache_->Handle(request, policy_, handler);
    EXPECT_EQ(response.body, absl::StrCat("render ", render));
    EXPECT_EQ(seen_if_none_match_, "");
    EXPECT_EQ(Header(response, "Cache-Status").find("revalidated"), std::string::npos);
  }
}

TEST_F(HttpCacheNoCacheTest, WithoutAValidatorIsNotStored) {
  policy_.cached_statuses = {200, 404};
  handler_ = [](const Request&, int render) {
    return Response{404, {{"Cache-Control", "no-cache"}}, absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  const Response second = Send(Get("/a"));
  EXPECT_EQ(second.body, "render 2");
  EXPECT_EQ(Header(second, "Cache-Status"), "larder; fwd=uri-miss");
}

TEST_F(HttpCacheNoCacheTest, LastModifiedAloneIsAValidatorEvenStaleOnArrival) {
  policy_.cached_statuses = {404};
  const std::string last_modified = FormatHttpDate(clock_.Now() - absl::Hours(1));
  std::string seen;
  handler_ = [&](const Request& request, int render) {
    seen = request.headers.Get("If-Modified-Since").value_or("");
    return Response{
        404,
        {{"Cache-Control", "no-cache"}, {"Age", "3600"}, {"Last-Modified", last_modified}},
        absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  Send(Get("/a"));
  EXPECT_EQ(seen, last_modified);
}

TEST_F(HttpCacheNoCacheTest, AClientPreconditionTheValidatorsLeaveInPlaceRendersInFull) {
  // The stored 404 has Last-Modified but no ETag: revalidating would leave the client's own
  // If-None-Match beside the stored If-Modified-Since, and a 304 could answer the client's tag.
  policy_.cached_statuses = {404};
  const std::string last_modified = FormatHttpDate(clock_.Now() - absl::Hours(1));
  std::string seen;
  handler_ = [&](const Request& request, int render) {
    seen = request.headers.Get("If-Modified-Since").value_or("");
    return Response{404,
                    {{"Cache-Control", "no-cache"}, {"Last-Modified", last_modified}},
                    absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  const Response second = Send(Get("/a", {{"If-None-Match", "\"client-tag\""}}));
  EXPECT_EQ(seen, "");
  EXPECT_EQ(second.body, "render 2");
  Send(Get("/a"));
  EXPECT_EQ(seen, last_modified);  // Without the client's precondition it revalidates.
}

TEST_F(HttpCacheNoCacheTest, IsNeverServedStale) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  const Response within_swr = Send(Get("/a", {{"Cache-Control", "max-stale=600"}}));
  EXPECT_EQ(Header(within_swr, "X-Cache"), "MISS");
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  EXPECT_EQ(renders(), 2);
  clock_.Advance(absl::Seconds(31));
  handler_ = [](const Request&, int) { return Response{503, {}, "down"}; };
  EXPECT_EQ(Send(Get("/a")).status, 503);  // No stale-if-error either.
}

TEST_F(HttpCacheNoCacheTest, ConcurrentRequestsShareOneRevalidation) {
  Send(Get("/a"));
  absl::Notification entered;
  absl::Notification release;
  auto revalidating = handler_;
  handler_ = [&](const Request& request, int render) {
    entered.Notify();
    release.WaitForNotification();
    return revalidating(request, render);
  };
  Response leader;
  std::thread leader_thread([&] { leader = Send(Get("/a")); });
  entered.WaitForNotification();
  std::vector<Response> followers(3);
  std::vector<std::thread> threads;
  for (Response& follower : followers) threads.emplace_back([&] { follower = Send(Get("/a")); });
  while (Collapsed() < 3) std::this_thread::yield();
  release.Notify();
  leader_thread.join();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(renders(), 2);
  EXPECT_EQ(Header(leader, "Cache-Status"), "larder; fwd=stale; stored; detail=revalidated");
  for (const Response& follower : followers) {
    EXPECT_EQ(follower.body, "render 1");
    EXPECT_EQ(Header(follower, "Cache-Status"), "larder; fwd=stale; collapsed; detail=revalidated");
  }
}

}  // namespace
}  // namespace larder::http::testing

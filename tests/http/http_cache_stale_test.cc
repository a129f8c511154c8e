// The pipeline under failure and concurrency: stale-while-revalidate, stale-if-error,
// coalescing of concurrent misses, and larder being unreachable (fail-open). Threads meet on
// notifications and counters, never on sleeps.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"
#include "tests/testing/captured_log.h"

namespace larder::http::testing {
namespace {

class HttpCacheStaleTest : public HttpCacheFixture {
 protected:
  // Spins (yielding, not sleeping) until `condition` holds; fails after 10 s of real time.
  template <typename Condition>
  void WaitUntil(Condition condition) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!condition()) {
      ASSERT_LT(absl::Now(), deadline) << "condition never held";
      std::this_thread::yield();
    }
  }
  double Collapsed() { return Metric("larder_http_collapsed_total", {{"route", "items"}}); }
  double Refreshes(const std::string& result) {
    return Metric("larder_http_refreshes_total", {{"route", "items"}, {"result", result}});
  }

  // A handler whose first run blocks until `release_`; later runs answer at once.
  void BlockFirstRender(Headers headers = {}, bool throw_first = false) {
    handler_ = [this, headers, throw_first](const Request&, int render) {
      if (render == 1) {
        entered_.Notify();
        release_.WaitForNotification();
        if (throw_first) throw std::runtime_error("handler failed");
      }
      return Response{200, render == 1 ? headers : Headers{}, absl::StrCat("render ", render)};
    };
  }

  absl::Notification entered_;
  absl::Notification release_;
};

TEST_F(HttpCacheStaleTest, StaleWhileRevalidateServesStaleAndRefreshesInTheBackground) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(31));
  const Response stale = Send(Get("/flaky"));
  EXPECT_EQ(stale.body, "{\"render\":1}");
  EXPECT_EQ(Header(stale, "X-Cache"), "STALE");
  EXPECT_EQ(Header(stale, "Cache-Status"), "larder; hit; ttl=-1; detail=stale-while-revalidate");
  EXPECT_EQ(Header(stale, "Age"), "31");
  cache_->WaitForRefreshes();
  EXPECT_EQ(renders(), 2);
  const Response hit = Send(Get("/flaky"));
  EXPECT_EQ(hit.body, "{\"render\":2}");
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(Refreshes("stored"), 1);
  EXPECT_EQ(Responses("stale"), 1);
}

TEST_F(HttpCacheStaleTest, ManyStaleRequestsRunOneBackgroundRefresh) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(31));
  handler_ = [this](const Request&, int render) {
    release_.WaitForNotification();
    return Response{200, {}, absl::StrCat("render ", render)};
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Header(Send(Get("/flaky")), "X-Cache"), "STALE");
  release_.Notify();
  cache_->WaitForRefreshes();
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheStaleTest, FailedRefreshKeepsServingStale) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(31));
  handler_ = [](const Request&, int) { return Response{500, {}, "down"}; };
  EXPECT_EQ(Send(Get("/flaky")).body, "{\"render\":1}");
  cache_->WaitForRefreshes();
  const Response again = Send(Get("/flaky"));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "{\"render\":1}");
  cache_->WaitForRefreshes();
  EXPECT_EQ(Refreshes("failed"), 2);
}

TEST_F(HttpCacheStaleTest, StaleBeyondTheWindowRendersSynchronously) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  policy_.stale_if_error = absl::Seconds(60);  // Keeps the entry in larder past the window.
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(36));
  const Response response = Send(Get("/flaky"));
  EXPECT_EQ(response.body, "{\"render\":2}");
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=stale; stored");
}

class NotReplayable final : public RouteHandler {
 public:
  explicit NotReplayable(int& renders) : renders_(renders) {}
  Response Render() override { return Response{200, {}, absl::StrCat("render ", ++renders_)}; }
  std::unique_ptr<RouteHandler> Detach() const override { return nullptr; }

 private:
  int& renders_;
};

TEST_F(HttpCacheStaleTest, HandlerThatCannotBeReplayedRendersStaleRequestsInline) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  int renders = 0;
  NotReplayable handler(renders);
  cache_->Handle(Get("/x"), policy_, handler);
  clock_.Advance(absl::Seconds(31));
  const Response response = cache_->Handle(Get("/x"), policy_, handler);
  EXPECT_EQ(response.body, "render 2");
  EXPECT_EQ(Header(response, "X-Cache"), "MISS");
}

TEST_F(HttpCacheStaleTest, StaleIfErrorServesTheStaleEntryInsteadOf5xx) {
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(40));
  handler_ = [](const Request&, int) { return Response{500, {}, "down"}; };
  const Response response = Send(Get("/flaky"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_EQ(Header(response, "X-Cache"), "STALE");
  EXPECT_EQ(Header(response, "Cache-Status"),
            "larder; fwd=stale; fwd-status=500; ttl=-10; detail=stale-if-error");
}

TEST_F(HttpCacheStaleTest, StaleIfErrorServesTheStaleEntryInsteadOfAnException) {
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(40));
  handler_ = [](const Request&, int) -> Response { throw std::runtime_error("boom"); };
  EXPECT_EQ(Send(Get("/flaky")).body, "{\"render\":1}");
}

TEST_F(HttpCacheStaleTest, StaleIfErrorAppliesWhateverTheRequestsMaxStale) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(31));
  handler_ = [](const Request&, int) { return Response{503, {}, "down"}; };
  const Response response = Send(Get("/flaky", {{"Cache-Control", "max-stale=0"}}));
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_THAT(Header(response, "Cache-Status"), ::testing::HasSubstr("detail=stale-if-error"));
  EXPECT_EQ(renders(), 2);  // Rendered synchronously, failed, replaced.
}

TEST_F(HttpCacheStaleTest, ErrorBeyondStaleIfErrorReachesTheClient) {
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/flaky"));
  clock_.Advance(absl::Seconds(30 + 61));
  handler_ = [](const Request&, int) { return Response{500, {}, "down"}; };
  EXPECT_EQ(Send(Get("/flaky")).status, 500);
}

TEST_F(HttpCacheStaleTest, ConcurrentMissesRunTheHandlerOnce) {
  BlockFirstRender();
  Response leader_response;
  std::thread leader([&] { leader_response = Send(Get("/slow")); });
  entered_.WaitForNotification();
  std::vector<Response> followers(4);
  std::vector<std::thread> threads;
  for (Response& follower : followers) {
    threads.emplace_back([&] { follower = Send(Get("/slow")); });
  }
  WaitUntil([&] { return Collapsed() == 4; });
  release_.Notify();
  leader.join();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(Header(leader_response, "X-Cache"), "MISS");
  for (const Response& follower : followers) {
    EXPECT_EQ(follower.body, "render 1");
    EXPECT_EQ(Header(follower, "ETag"), Header(leader_response, "ETag"));
    EXPECT_EQ(Header(follower, "X-Cache"), "HIT");
    EXPECT_EQ(Header(follower, "Cache-Status"), "larder; fwd=uri-miss; collapsed");
  }
}

TEST_F(HttpCacheStaleTest, FollowersRenderForThemselvesWhenNothingWasStored) {
  BlockFirstRender({{"Set-Cookie", "seen=1"}});
  std::thread leader([&] { Send(Get("/slow")); });
  entered_.WaitForNotification();
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { Send(Get("/slow")); });
  WaitUntil([&] { return Collapsed() == 3; });
  release_.Notify();
  leader.join();
  for (std::thread& thread : threads) thread.join();
  EXPECT_GE(renders(), 2);
}

TEST_F(HttpCacheStaleTest, FollowersRenderWhenTheLeaderThrows) {
  BlockFirstRender({}, /*throw_first=*/true);
  std::thread leader([&] { EXPECT_THROW(Send(Get("/slow")), std::runtime_error); });
  entered_.WaitForNotification();
  Response follower;
  std::thread thread([&] { follower = Send(Get("/slow")); });
  WaitUntil([&] { return Collapsed() == 1; });
  release_.Notify();
  leader.join();
  thread.join();
  EXPECT_EQ(follower.status, 200);
  EXPECT_EQ(follower.body, "render 2");
}

TEST_F(HttpCacheStaleTest, HeadWaitsForARunningGet) {
  BlockFirstRender();
  std::thread leader([&] { Send(Get("/slow")); });
  entered_.WaitForNotification();
  Response head;
  std::thread thread([&] { head = Send(With(Get("/slow"), "HEAD")); });
  WaitUntil([&] { return Collapsed() == 1; });
  release_.Notify();
  leader.join();
  thread.join();
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(HttpCacheStaleTest, DifferentKeysDoNotWaitOnEachOther) {
  std::atomic<int> running{0};
  handler_ = [&](const Request&, int render) {
    ++running;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (running.load() < 3 && absl::Now() < deadline) std::this_thread::yield();
    return Response{200, {}, absl::StrCat(render)};
  };
  std::vector<std::thread> threads;
  for (int page = 0; page < 3; ++page) {
    threads.emplace_back([&, page] { Send(Get("/items", {}, absl::StrCat("page=", page))); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(running.load(), 3);
  EXPECT_EQ(Collapsed(), 0);
}

TEST_F(HttpCacheStaleTest, UnreachableLarderIsServedByTheHandlerAndCounted) {
  larder::testing::CapturedLog log;
  store_->set_unavailable(true);
  const Response first = Send(Get("/item"));
  const Response second = Send(Get("/item"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.body, "{\"render\":2}");
  EXPECT_EQ(Header(second, "X-Cache"), "MISS");
  EXPECT_EQ(Header(second, "Cache-Status"), "larder; fwd=bypass; detail=store-unavailable");
  EXPECT_TRUE(second.headers.Has("ETag"));
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "lookup"}}),
            2);
  EXPECT_EQ(Responses("bypass"), 2);
  // Logged once (the second failure within the minute is only counted).
  EXPECT_THAT(log.lines(), ::testing::ElementsAre(::testing::HasSubstr(
                               "route items: larder lookup failed (UNAVAILABLE: larder "
                               "unreachable); serving from the handler")));
}

TEST_F(HttpCacheStaleTest, WriteFailureIsServedAndDoesNotHideAWorkingRead) {
  larder::testing::CapturedLog log;
  Send(Get("/item"));
  store_->set_fail_writes(true);
  EXPECT_EQ(Header(Send(Get("/item")), "X-Cache"), "HIT");
  const Response miss = Send(Get("/other"));
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(Header(miss, "Cache-Status"), "larder; fwd=uri-miss");
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "store"}}),
            1);
  EXPECT_THAT(log.lines(), ::testing::ElementsAre(::testing::HasSubstr(
                               "route items: larder store failed (UNAVAILABLE")));
}

TEST_F(HttpCacheStaleTest, ResponsesAreCountedByHowTheCacheAnswered) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  const std::string etag = Header(Send(Get("/m")), "ETag");  // miss
  Send(Get("/m"));                                           // hit
  Send(Get("/m", {{"If-None-Match", etag}}));                // not_modified
  Send(Get("/m", {{"Authorization", "Bearer a"}}));          // bypass
  clock_.Advance(absl::Seconds(31));
  Send(Get("/m"));  // stale
  cache_->WaitForRefreshes();
  EXPECT_EQ(Responses("miss"), 1);
  EXPECT_EQ(Responses("hit"), 1);
  EXPECT_EQ(Responses("not_modified"), 1);
  EXPECT_EQ(Responses("bypass"), 1);
  EXPECT_EQ(Responses("stale"), 1);
}

}  // namespace
}  // namespace larder::http::testing

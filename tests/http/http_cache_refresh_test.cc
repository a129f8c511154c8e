// Clients cannot force work on a shared cache: refresh directives are ignored unless the route
// honours them, honoured refreshes of one key coalesce into one render, only-if-cached answers
// 504 when nothing usable is stored, and max-stale is honoured.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheRefreshTest : public HttpCacheFixture {};

TEST_F(HttpCacheRefreshTest, ClientRefreshDirectivesDoNotRenderByDefault) {
  Send(Get("/items/1"));
  for (Headers headers :
       {Headers{{"Cache-Control", "no-cache"}}, Headers{{"Cache-Control", "max-age=0"}},
        Headers{{"Pragma", "no-cache"}}}) {
    EXPECT_EQ(Header(Send(Get("/items/1", headers)), "X-Cache"), "HIT");
  }
  EXPECT_EQ(renders(), 1);
}

TEST_F(HttpCacheRefreshTest, ConcurrentHonouredRefreshesRenderOnce) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  absl::Notification proceed;
  handler_ = [&](const Request&, int render) {
    proceed.WaitForNotification();
    return Response{200, {}, absl::StrCat("render ", render)};
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 10; ++i) {
    clients.emplace_back([&] { Send(Get("/items/1", {{"Cache-Control", "no-cache"}})); });
  }
  // Every client has joined the flight once the collapsed counter says so.
  while (Metric("larder_http_collapsed_total", {{"route", "items"}}) < 9) std::this_thread::yield();
  proceed.Notify();
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheRefreshTest, OnlyIfCachedWithNothingStoredIs504) {
  const Response response = Send(Get("/items/1", {{"Cache-Control", "only-if-cached"}}));
  EXPECT_EQ(response.status, 504);
  EXPECT_EQ(renders(), 0);
  Send(Get("/items/1"));
  EXPECT_EQ(Send(Get("/items/1", {{"Cache-Control", "only-if-cached"}})).status, 200);
}

TEST_F(HttpCacheRefreshTest, MaxStaleServesAStaleResponseLarderStillKeeps) {
  policy_.stale_if_error = absl::Seconds(60);  // larder keeps entries 60 s past their lifetime
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(35));
  const Response stale = Send(Get("/items/1", {{"Cache-Control", "max-stale=10"}}));
  EXPECT_EQ(Header(stale, "X-Cache"), "STALE");
  EXPECT_EQ(stale.body, "{\"render\":1}");
  cache_->WaitForRefreshes();
}

}  // namespace
}  // namespace larder::http::testing

// End-to-end over real HTTP and a real larderd: clients cannot force a shared cache to render
// (refresh directives ignored by default), honoured refreshes coalesce, only-if-cached is 504
// when nothing is stored.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheRefreshE2eTest : public SharedCacheE2eTest {
 protected:
  void ServeSlowPage(const RoutePolicy& policy) {
    Serve([&](::httplib::Server& server) {
      server.Get("/page", Cached(policy, [this](const ::httplib::Request&, ::httplib::Response& r) {
                   std::this_thread::sleep_for(std::chrono::milliseconds(300));
                   r.set_content(absl::StrCat("render ", renders()), "text/plain");
                 }));
    });
  }
};

TEST_F(SharedCacheRefreshE2eTest, BrowserReloadDirectivesAreServedFromTheCache) {
  ServeSlowPage(Policy("page"));
  Get("/page");
  for (const ::httplib::Headers& headers : {::httplib::Headers{{"Cache-Control", "max-age=0"}},
                                            ::httplib::Headers{{"Cache-Control", "no-cache"}},
                                            ::httplib::Headers{{"Pragma", "no-cache"}}}) {
    auto response = Get("/page", headers);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->get_header_value("X-Cache"), "HIT");
  }
  EXPECT_EQ(renders(), 1);
}

TEST_F(SharedCacheRefreshE2eTest, ConcurrentHonouredRefreshesRenderOnce) {
  RoutePolicy policy = Policy("page");
  policy.honor_client_refresh = true;
  ServeSlowPage(policy);
  Get("/page");
  std::vector<std::thread> clients;
  for (int i = 0; i < 10; ++i) {
    clients.emplace_back([this] { Get("/page", {{"Cache-Control", "no-cache"}}); });
  }
  for (std::thread& client : clients) client.join();
  // One render for the first request, then the ten refreshes share one (a straggler arriving
  // after that render landed may start one more).
  EXPECT_LE(renders(), 3);
}

TEST_F(SharedCacheRefreshE2eTest, OnlyIfCachedWithNothingStoredIs504) {
  ServeSlowPage(Policy("page"));
  auto response = Get("/page", {{"Cache-Control", "only-if-cached"}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_EQ(renders(), 0);
}

}  // namespace
}  // namespace larder::http::testing

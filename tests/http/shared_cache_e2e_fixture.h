// SharedCacheE2eTest: a real larderd (one per suite) and, per test, a cpp-httplib server in this
// process whose routes are cached through larder::httplib::Cached with the test's own handlers
// and policies, so a test sets exactly the response headers it is about and talks real HTTP.
//
//   class MyTest : public SharedCacheE2eTest {};
//   TEST_F(MyTest, X) {
//     Serve([&](httplib::Server& s) { s.Get("/a", Cached(Policy("a"), handler)); });
//     httplib::Result r = Client().Get("/a");
//   }
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "larder/client.h"
#include "larder/http/http_cache.h"
#include "larder/httplib/cached.h"
#include "tests/testing/larderd_process.h"

namespace larder::http::testing {

class SharedCacheE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // A policy of its own namespace (unique per test) with a 60 s ttl.
  RoutePolicy Policy(const std::string& name) const;
  // Wraps `handler` with the cache; counts its runs in renders().
  ::httplib::Server::Handler Cached(const RoutePolicy& policy, ::httplib::Server::Handler handler);
  // Registers routes and starts serving on a free loopback port.
  void Serve(const std::function<void(::httplib::Server&)>& routes);
  // A new client to the server (keep-alive off: each call its own connection).
  ::httplib::Client Client() const;
  ::httplib::Result Get(const std::string& path, const ::httplib::Headers& headers = {}) const;
  // Serves GET /up through `policy`, answering with `headers` and a body naming the render
  // ("render N"), or 503 "down" while upstream_failing_ is set: an upstream that states its own
  // caching headers.
  void ServeUpstream(const RoutePolicy& policy, ::httplib::Headers headers);
  // A policy of its own namespace whose freshness comes from the response, up to an hour.
  RoutePolicy Upstream(const std::string& name) const;

  int renders() const { return renders_.load(); }
  HttpCache& cache() { return *cache_; }

  std::atomic<bool> upstream_failing_{false};
  static larder::testing::LarderdProcess* larderd_;
  static std::shared_ptr<larder::Client> client_;

 private:
  std::unique_ptr<HttpCache> cache_;
  std::unique_ptr<::httplib::Server> server_;
  std::thread serving_;
  int port_ = 0;
  std::atomic<int> renders_{0};
};

}  // namespace larder::http::testing

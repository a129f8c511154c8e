// HttpCacheFixture: an HttpCache over the in-memory test double and a FakeClock, with a
// counting handler and helpers to send requests and read the metrics.
//
//   class MyTest : public HttpCacheFixture {};
//   TEST_F(MyTest, X) { Response r = Send(Get("/items/1")); EXPECT_EQ(renders(), 1); }
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/http/http_cache.h"
#include "prometheus/registry.h"
#include "tests/http/in_memory_response_store.h"
#include "tests/testing/fake_clock.h"

namespace larder::http::testing {

class HttpCacheFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_.cache_namespace = "items";
    policy_.ttl = absl::Seconds(30);
    HttpCacheOptions options;
    options.clock = &clock_;
    options.metrics_registry = registry_;
    auto cache = HttpCache::Create(store_, options);
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = *std::move(cache);
  }

  static Request Get(std::string path, Headers headers = {}, std::string query = "") {
    Request request;
    request.method = "GET";
    request.host = "example.com";
    request.path = std::move(path);
    request.query = std::move(query);
    request.headers = std::move(headers);
    return request;
  }
  static Request With(Request request, std::string method) {
    request.method = std::move(method);
    return request;
  }

  // Sends `request` through the cache with `handler_` (which counts its runs).
  Response Send(const Request& request) { return Send(request, policy_); }
  Response Send(const Request& request, const RoutePolicy& policy) {
    auto handler = MakeRouteHandler(
        [this](const Request& r) {
          const int render = ++renders_;
          return handler_(r, render);
        },
        request);
    return cache_->Handle(request, policy, *handler);
  }

  int renders() const { return renders_.load(); }

  // The value of a counter sample, 0 when absent.
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        std::map<std::string, std::string> have;
        for (const auto& label : metric.label) have[label.name] = label.value;
        if (have == labels) return metric.counter.value;
      }
    }
    return 0;
  }
  double Responses(const std::string& cache) {
    return Metric("larder_http_responses_total", {{"route", "items"}, {"cache", cache}});
  }
  // Every larder_http_responses_total sample of the route.
  double AllResponses() {
    double total = 0;
    for (const char* label : {"hit", "not_modified", "stale", "miss", "bypass"}) {
      total += Responses(label);
    }
    return total;
  }
  // The store's RecordHeldHit calls for the route's namespace (HandleHeld / HandleFetched hits).
  int HeldHits() { return store_->held_hits("items"); }

  static std::string Header(const Response& response, absl::string_view name) {
    return response.headers.Get(name).value_or("<none>");
  }

  larder::testing::FakeClock clock_;
  std::shared_ptr<InMemoryResponseStore> store_ = std::make_shared<InMemoryResponseStore>(clock_);
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<HttpCache> cache_;
  RoutePolicy policy_;
  std::atomic<int> renders_{0};
  // The route's handler: gets the request and the number of this run (1, 2, …).
  std::function<Response(const Request&, int)> handler_ = [](const Request&, int render) {
    return Response{
        200, {{"Content-Type", "application/json"}}, absl::StrCat("{\"render\":", render, "}")};
  };
};

}  // namespace larder::http::testing

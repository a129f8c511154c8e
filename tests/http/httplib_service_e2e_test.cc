// End-to-end: the example service (a real process) over real HTTP, caching in a real larderd.
// Each test uses its own paths or query values, so they share one larderd and one service.
// Cases ported from fastapi-cache, fastapi-caching-route and FastAPI-CacheX are named after the
// behaviour they check.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/http/service_fixture.h"
#include "tests/testing/larderd_process.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class HttplibServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto larderd = larder::testing::LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = std::move(*larderd).release();
    auto service = ServiceProcess::Start(larderd_->grpc_address());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service).release();
  }
  static void TearDownTestSuite() {
    delete service_;
    delete larderd_;
  }

  static ::httplib::Result Get(const std::string& path, const ::httplib::Headers& headers = {}) {
    ::httplib::Result result = service_->Get(path, headers);
    EXPECT_TRUE(result) << path << ": " << ::httplib::to_string(result.error());
    return result;
  }

  static larder::testing::LarderdProcess* larderd_;
  static ServiceProcess* service_;
};

larder::testing::LarderdProcess* HttplibServiceTest::larderd_ = nullptr;
ServiceProcess* HttplibServiceTest::service_ = nullptr;

TEST_F(HttplibServiceTest, MissThenHitServesTheStoredResponse) {
  auto miss = Get("/items/1");
  auto hit = Get("/items/1");
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(miss->status, 200);
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(miss->get_header_value("Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_EQ(miss->get_header_value("Cache-Control"), "no-cache");
  EXPECT_FALSE(miss->has_header("Age"));
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_THAT(hit->get_header_value("Cache-Status"), StartsWith("larder; hit; ttl="));
  EXPECT_TRUE(hit->has_header("Age"));
  EXPECT_EQ(hit->body, miss->body);
  EXPECT_EQ(RenderOf(hit->body), RenderOf(miss->body));
  EXPECT_EQ(hit->get_header_value("Content-Type"), "application/json");
}

TEST_F(HttplibServiceTest, EtagIsStrongFromTheBodyAndSharedByEveryProcess) {
  // Replicas behind one name see the same Host; the default key includes it.
  const ::httplib::Headers host = {{"Host", "shop.example"}};
  auto first = Get("/items/2", host);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->get_header_value("ETag"), larder::StrongEtagFor(first->body));
  EXPECT_THAT(first->get_header_value("ETag"), MatchesRegex("\"[0-9a-f]{32}\""));
  // A second replica of the service reads the same larder entry and sends the same ETag.
  auto replica = ServiceProcess::Start(larderd_->grpc_address());
  ASSERT_TRUE(replica.ok()) << replica.status();
  auto from_replica = (*replica)->Get("/items/2", host);
  ASSERT_TRUE(from_replica);
  EXPECT_EQ(from_replica->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(from_replica->get_header_value("ETag"), first->get_header_value("ETag"));
  auto revalidated = (*replica)->Get(
      "/items/2", {{"Host", "shop.example"}, {"If-None-Match", first->get_header_value("ETag")}});
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 304);
}

struct EtagCase {
  std::string name;
  std::function<std::string(const std::string&)> if_none_match;
  int status;
};

class HttplibServiceEtagTest : public HttplibServiceTest,
                               public ::testing::WithParamInterface<EtagCase> {};

TEST_P(HttplibServiceEtagTest, IfNoneMatchOnAHit) {
  const std::string path = absl::StrCat("/search?q=etag-", GetParam().name);
  auto first = Get(path);
  ASSERT_TRUE(first);
  auto response =
      Get(path, {{"If-None-Match", GetParam().if_none_match(first->get_header_value("ETag"))}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, GetParam().status);
  EXPECT_EQ(response->get_header_value("X-Cache"), "HIT");
  if (GetParam().status == 304) {
    EXPECT_EQ(response->body, "");
    EXPECT_EQ(response->get_header_value("ETag"), first->get_header_value("ETag"));
    EXPECT_EQ(response->get_header_value("Cache-Control"), "no-cache");
    EXPECT_FALSE(response->has_header("Content-Type"));
    EXPECT_FALSE(response->has_header("Content-Length"));
  } else {
    EXPECT_EQ(response->body, first->body);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ported, HttplibServiceEtagTest,
    ::testing::Values(
        EtagCase{"Valid", [](const std::string& e) { return e; }, 304},
        EtagCase{"Invalid", [](const std::string&) { return "\"invalid\""; }, 200},
        EtagCase{"ValidWithWeakPrefix", [](const std::string& e) { return "W/" + e; }, 304},
        EtagCase{"ValidInList", [](const std::string& e) { return "\"invalid\", W/" + e; }, 304},
        EtagCase{"Wildcard", [](const std::string&) { return "*"; }, 304}),
    [](const ::testing::TestParamInfo<EtagCase>& info) { return info.param.name; });

TEST_F(HttplibServiceTest, NotModifiedCarriesVaryAndCacheControlOfThe200) {
  const ::httplib::Headers german = {{"Accept-Language", "de"}};
  auto full = Get("/localized", german);
  ASSERT_TRUE(full);
  ::httplib::Headers conditional = german;
  conditional.emplace("If-None-Match", full->get_header_value("ETag"));
  auto not_modified = Get("/localized", conditional);
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->get_header_value("Vary"), "Accept-Language");
  EXPECT_EQ(not_modified->get_header_value("Cache-Control"), "no-cache");
  EXPECT_EQ(not_modified->get_header_value("ETag"), full->get_header_value("ETag"));
  EXPECT_TRUE(not_modified->has_header("Age"));
}

TEST_F(HttplibServiceTest, IfNoneMatchOnAFreshRenderAnswers304) {
  auto response = Get("/items/3", {{"Cache-Control", "no-cache"}, {"If-None-Match", "*"}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 304);
  EXPECT_EQ(response->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(response->get_header_value("Cache-Status"), "larder; fwd=request; stored");
  EXPECT_TRUE(response->has_header("ETag"));
}

TEST_F(HttplibServiceTest, VaryHeadersArePartOfTheKey) {
  auto de = Get("/localized", {{"Accept-Language", "de-DE"}});
  auto fr = Get("/localized", {{"Accept-Language", "fr"}});
  auto de_again = Get("/localized", {{"Accept-Language", "de-DE"}});
  ASSERT_TRUE(de && fr && de_again);
  EXPECT_THAT(de->body, HasSubstr("Hallo"));
  EXPECT_THAT(fr->body, HasSubstr("Bonjour"));
  EXPECT_EQ(fr->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(de_again->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(de_again->body, de->body);
  EXPECT_EQ(de_again->get_header_value("Vary"), "Accept-Language");
}

TEST_F(HttplibServiceTest, QueryKeyIsSortedAndKeepsOnlyDeclaredParameters) {
  auto first = Get("/search?q=tea&page=2");
  auto reordered = Get("/search?page=2&q=tea");
  auto tracked = Get("/search?utm_source=mail&q=tea&page=2");
  auto other_page = Get("/search?q=tea&page=3");
  ASSERT_TRUE(first && reordered && tracked && other_page);
  EXPECT_EQ(reordered->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(tracked->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(RenderOf(tracked->body), RenderOf(first->body));
  EXPECT_EQ(other_page->get_header_value("X-Cache"), "MISS");
}

TEST_F(HttplibServiceTest, RequestNoStoreRendersAndKeepsTheStoredEntry) {
  auto stored = Get("/search?q=no-store");
  auto fresh = Get("/search?q=no-store", {{"Cache-Control", "max-age=60, NO-STORE"}});
  auto hit = Get("/search?q=no-store");
  ASSERT_TRUE(stored && fresh && hit);
  EXPECT_GT(RenderOf(fresh->body), RenderOf(stored->body));
  EXPECT_EQ(fresh->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(RenderOf(hit->body), RenderOf(stored->body));
}

TEST_F(HttplibServiceTest, RequestNoCacheOrMaxAgeZeroReplacesTheStoredEntry) {
  for (const char* directive : {"No-Cache", " max-age = 0 "}) {
    auto stored = Get("/search?q=no-cache");
    auto fresh = Get("/search?q=no-cache", {{"Cache-Control", directive}});
    auto hit = Get("/search?q=no-cache");
    ASSERT_TRUE(stored && fresh && hit);
    EXPECT_GT(RenderOf(fresh->body), RenderOf(stored->body)) << directive;
    EXPECT_EQ(fresh->get_header_value("Cache-Status"), "larder; fwd=request; stored");
    EXPECT_EQ(RenderOf(hit->body), RenderOf(fresh->body)) << directive;
  }
}

TEST_F(HttplibServiceTest, ClientDirectivesComeFromThePolicy) {
  auto response = Get("/client-cacheable");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_header_value("Cache-Control"), "public, max-age=30");
  auto hit = Get("/client-cacheable");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("Cache-Control"), "public, max-age=30");
}

class ServiceNeverStoresTest : public HttplibServiceTest,
                               public ::testing::WithParamInterface<std::string> {};

TEST_P(ServiceNeverStoresTest, HandlerRunsEveryTime) {
  const std::string path = "/unshareable/" + GetParam();
  auto first = Get(path);
  auto second = Get(path);
  ASSERT_TRUE(first && second);
  EXPECT_GT(RenderOf(second->body), RenderOf(first->body));
  EXPECT_EQ(second->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(second->get_header_value("Cache-Status"), "larder; fwd=uri-miss");
}

INSTANTIATE_TEST_SUITE_P(Rules, ServiceNeverStoresTest,
                         ::testing::Values("cookie", "private", "no-store", "vary-star",
                                           "not-found"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST_F(HttplibServiceTest, HandlersOwnPrivateCacheControlIsSentAsIs) {
  auto response = Get("/unshareable/private");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_header_value("Cache-Control"), "Private, max-age=5");
}

TEST_F(HttplibServiceTest, OneClientsAuthorizedResponseIsNotServedToAnother) {
  auto anonymous = Get("/items/1");
  auto alice = Get("/items/1", {{"Authorization", "Bearer alice"}});
  ASSERT_TRUE(anonymous && alice);
  EXPECT_NE(RenderOf(alice->body), RenderOf(anonymous->body));
  EXPECT_EQ(alice->get_header_value("Cache-Control"), "private, no-cache");
  EXPECT_EQ(alice->get_header_value("Cache-Status"), "larder; fwd=bypass; detail=authorization");
  auto bob = Get("/items/1", {{"Authorization", "Bearer bob"}});
  ASSERT_TRUE(bob);
  EXPECT_GT(RenderOf(bob->body), RenderOf(alice->body));
  auto anonymous_again = Get("/items/1");
  ASSERT_TRUE(anonymous_again);
  EXPECT_EQ(anonymous_again->get_header_value("X-Cache"), "HIT");
}

TEST_F(HttplibServiceTest, SharedRouteServesAuthorizationRequestsFromTheCache) {
  auto first = Get("/search?q=shared", {{"Authorization", "Bearer alice"}});
  auto second = Get("/search?q=shared", {{"Authorization", "Bearer bob"}});
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(RenderOf(second->body), RenderOf(first->body));
}

TEST_F(HttplibServiceTest, ApiKeyIsCheckedBeforeAnyCacheLookup) {
  auto with_key = Get("/private", {{"X-API-Key", "secret"}});
  auto without = Get("/private");
  auto wrong = Get("/private", {{"X-API-Key", "guess"}});
  auto hit = Get("/private", {{"X-API-Key", "secret"}});
  ASSERT_TRUE(with_key && without && wrong && hit);
  EXPECT_EQ(with_key->status, 200);
  EXPECT_EQ(without->status, 401);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
}

TEST_F(HttplibServiceTest, HeadIsServedFromTheGetEntry) {
  auto get = Get("/search?q=head");
  auto head = service_->Head("/search?q=head");
  auto get_again = Get("/search?q=head");
  ASSERT_TRUE(get && head && get_again);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(head->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(head->get_header_value("ETag"), get->get_header_value("ETag"));
  EXPECT_EQ(RenderOf(get_again->body), RenderOf(get->body));
}

TEST_F(HttplibServiceTest, SuccessfulPutInvalidatesEveryEntryOfItsPath) {
  Get("/items/3");
  Get("/items/3?view=full");
  auto other = Get("/items/2");
  auto put = service_->Put("/items/3", R"({"name":"matcha"})");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200);
  EXPECT_EQ(put->get_header_value("Cache-Status"), "larder; fwd=method");
  auto after = Get("/items/3");
  auto variant_after = Get("/items/3?view=full");
  auto other_after = Get("/items/2");
  ASSERT_TRUE(after && variant_after && other_after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");
  EXPECT_THAT(after->body, HasSubstr("matcha"));
  EXPECT_EQ(variant_after->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(other_after->get_header_value("X-Cache"), "HIT");
}

TEST_F(HttplibServiceTest, FailedPutInvalidatesNothing) {
  Get("/items/1");
  auto put = service_->Put("/items/1", "not json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 400);
  auto after = Get("/items/1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "HIT");
}

// The response a cached route sends is the stored one byte for byte: cpp-httplib's own Range
// cutting (a 200 with Content-Range and a truncated body under the full body's strong ETag) and
// compression (under the same strong ETag, no Vary) are off; Range is ignored.
TEST_F(HttplibServiceTest, RangeOnACachedRouteGetsTheWholeStoredResponse) {
  auto stored = Get("/search?q=range");
  ASSERT_TRUE(stored);
  for (const char* range : {"bytes=0-4", "bytes=-3", "bytes=5-", "bytes=0-1,4-5", "bytes=999-"}) {
    auto ranged = Get("/search?q=range", {{"Range", range}});
    ASSERT_TRUE(ranged);
    EXPECT_EQ(ranged->status, 200) << range;
    EXPECT_EQ(ranged->body, stored->body) << range;
    EXPECT_EQ(ranged->get_header_value("ETag"), larder::StrongEtagFor(ranged->body));
    EXPECT_FALSE(ranged->has_header("Content-Range")) << range;
    EXPECT_EQ(ranged->get_header_value("Accept-Ranges"), "none");
    EXPECT_EQ(ranged->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(ranged->get_header_value("X-Cache"), "HIT");
  }
  auto miss = Get("/search?q=range-first", {{"Range", "bytes=0-4"}, {"If-Range", "\"x\""}});
  ASSERT_TRUE(miss);
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(miss->status, 200);
  EXPECT_EQ(miss->get_header_value("ETag"), larder::StrongEtagFor(miss->body));
  EXPECT_GT(miss->body.size(), 5u);
  auto head = service_->Head("/search?q=range-first");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Accept-Ranges"), "none");  // Not cpp-httplib's "bytes".
}

TEST_F(HttplibServiceTest, CompressingClientGetsTheBytesTheStrongEtagNames) {
  auto client = service_->NewClient();
  client->set_decompress(false);  // See the bytes on the wire.
  for (const char* accept : {"gzip", "br", "gzip, deflate, br", "gzip;q=0"}) {
    auto miss =
        client->Get(absl::StrCat("/search?q=gzip-", accept).c_str(), {{"Accept-Encoding", accept}});
    auto hit = client->Get("/items/1", {{"Accept-Encoding", accept}});
    ASSERT_TRUE(miss && hit);
    for (const ::httplib::Result* result : {&miss, &hit}) {
      const ::httplib::Response& response = **result;
      EXPECT_EQ(response.status, 200);
      EXPECT_FALSE(response.has_header("Content-Encoding")) << accept;
      EXPECT_EQ(response.get_header_value("ETag"), larder::StrongEtagFor(response.body));
      EXPECT_GT(RenderOf(response.body), 0) << accept << ": " << response.body;
    }
  }
}

TEST_F(HttplibServiceTest, UncachedRouteHasNoCacheHeaders) {
  auto first = Get("/uncached");
  auto second = Get("/uncached");
  ASSERT_TRUE(first && second);
  EXPECT_GT(RenderOf(second->body), RenderOf(first->body));
  EXPECT_FALSE(second->has_header("X-Cache"));
}

TEST_F(HttplibServiceTest, ConcurrentMissesRunTheHandlerOnce) {
  constexpr int kClients = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> bodies(kClients), cache(kClients);
  const absl::Time start = absl::Now();
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto client = service_->NewClient();
      auto result = client->Get("/slow");
      if (result) {
        bodies[i] = result->body;
        cache[i] = result->get_header_value("X-Cache");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Duration took = absl::Now() - start;
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(RenderOf(bodies[i]), RenderOf(bodies[0]));
  EXPECT_EQ(std::count(cache.begin(), cache.end(), "MISS"), 1);
  EXPECT_LT(took, absl::Milliseconds(200 * kClients / 2));
  EXPECT_EQ(service_->Metric("larder_http_responses_total", R"(cache="miss",route="slow")"), 1);
  EXPECT_EQ(service_->Metric("larder_http_responses_total", R"(cache="hit",route="slow")"),
            kClients - 1);
}

TEST_F(HttplibServiceTest, MetricsCountResponsesByHowTheCacheAnswered) {
  const std::string etag = Get("/search?q=metrics")->get_header_value("ETag");
  Get("/search?q=metrics");
  Get("/search?q=metrics", {{"If-None-Match", etag}});
  Get("/search?q=metrics", {{"Cache-Control", "no-store"}});
  EXPECT_GE(service_->Metric("larder_http_responses_total", R"(cache="miss",route="search")"), 1);
  EXPECT_GE(service_->Metric("larder_http_responses_total", R"(cache="hit",route="search")"), 1);
  EXPECT_GE(
      service_->Metric("larder_http_responses_total", R"(cache="not_modified",route="search")"), 1);
  EXPECT_GE(service_->Metric("larder_http_responses_total", R"(cache="bypass",route="search")"), 1);
  auto metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("larder_client_"));
}

}  // namespace
}  // namespace larder::http::testing

// End-to-end: the shared-cache rules of RFC 9111 as a client of larder-proxy sees them, with a
// real upstream (tests/proxy/upstream_server.py) stating each response's headers from the
// query, and a real larderd. Freshness from the response (max-age, s-maxage, Expires, Age,
// Last-Modified), what is never stored or shared (no-store, private, Authorization, Cookie,
// Set-Cookie, Vary: *), variants, the routes' default_ttl, max_ttl, cache: false, cookies and
// shared, writes invalidating their path, and HEAD answered from the GET entry. The in-process
// counterparts are tests/http/shared_cache_*_e2e_test.cc.
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_e2e_fixture.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kRoutes[] = R"(routes:
  - name: defttl
    prefix: /defttl/
    default_ttl: 2s
  - name: maxttl
    prefix: /maxttl/
    max_ttl: 2s
  - name: nocache
    prefix: /nocache/
    cache: false
  - name: ignorecookies
    prefix: /ignorecookies/
    ignore_cookies: true
  - name: cookies
    prefix: /cookies/
    cookies: [session]
  - name: shared
    prefix: /shared/
    shared: true
default:
  namespace: proxy-cache-e2e
)";

class ProxyCacheE2eTest : public ProxyStackTest {
 protected:
  static void SetUpTestSuite() { StartStack(kRoutes); }
};

std::string HttpDate(absl::Time time) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", time, absl::UTCTimeZone());
}

TEST_F(ProxyCacheE2eTest, MissThenHitRendersTheUpstreamOnce) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  auto miss = Get(target);
  auto hit = Get(target);
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_THAT(miss->get_header_value("Cache-Status"), HasSubstr("stored"));
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->body, miss->body);
  EXPECT_EQ(hit->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(hit->get_header_value("ETag"), miss->get_header_value("ETag"));
  EXPECT_EQ(hit->get_header_value("Cache-Control"), "max-age=60");
  EXPECT_TRUE(hit->has_header("Age"));
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyCacheE2eTest, SMaxAgeWinsOverMaxAge) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=0, s-maxage=60"}});
  Get(target);
  auto hit = Get(target);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->get_header_value("Cache-Control"), "max-age=0, s-maxage=60");
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyCacheE2eTest, MaxAgeEndsTheLifetime) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=2"}});
  Get(target);
  EXPECT_EQ(CacheOf(target), "HIT");
  std::this_thread::sleep_for(kPastTwoSeconds);
  auto expired = Get(target);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(expired->body, absl::StrCat(path, " render 2"));
}

TEST_F(ProxyCacheE2eTest, UpstreamAgeCountsTowardsTheLifetime) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=100"}, {"age", "98"}});
  Get(target);
  auto hit = Get(target);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  int age = -1;
  EXPECT_TRUE(absl::SimpleAtoi(hit->get_header_value("Age"), &age));
  EXPECT_GE(age, 98);
  std::this_thread::sleep_for(kPastTwoSeconds);
  EXPECT_EQ(CacheOf(target), "MISS");
}

TEST_F(ProxyCacheE2eTest, ExpiresGivesTheLifetimeAndAPastOneNone) {
  const std::string future = UpstreamTarget(
      PathOf("/d/", "/future"), {{"expires", HttpDate(absl::Now() + absl::Seconds(60))}});
  const std::string past = UpstreamTarget(PathOf("/d/", "/past"),
                                          {{"expires", HttpDate(absl::Now() - absl::Seconds(60))}});
  const std::string invalid = UpstreamTarget(PathOf("/d/", "/invalid"), {{"expires", "0"}});
  for (const std::string& target : {future, past, invalid}) Get(target);
  EXPECT_EQ(CacheOf(future), "HIT");
  EXPECT_EQ(CacheOf(past), "MISS");
  EXPECT_EQ(CacheOf(invalid), "MISS");
  EXPECT_EQ(Renders(PathOf("/d/", "/past")), 2);
}

TEST_F(ProxyCacheE2eTest, LastModifiedGivesAHeuristicLifetimeAndNothingGivesNone) {
  const std::string old = UpstreamTarget(
      PathOf("/d/", "/old"), {{"last_modified", HttpDate(absl::Now() - absl::Hours(240))}});
  const std::string bare = PathOf("/d/", "/bare");
  Get(old);
  Get(bare);
  EXPECT_EQ(CacheOf(old), "HIT");
  auto again = Get(bare);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(again->body, absl::StrCat(bare, " render 2"));
}

TEST_F(ProxyCacheE2eTest, NoStorePrivateAndVaryStarAreNeverStored) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> responses = {
      {{"cc", "no-store, max-age=60"}},
      {{"cc", "private, max-age=60"}},
      {{"cc", "private=\"Set-Cookie\", max-age=60"}},
      {{"cc", "max-age=60"}, {"vary", "*"}},
  };
  for (size_t i = 0; i < responses.size(); ++i) {
    const std::string path = PathOf("/d/", absl::StrCat("/", i));
    const std::string target = UpstreamTarget(path, responses[i]);
    Get(target);
    EXPECT_EQ(CacheOf(target), "MISS") << target;
    EXPECT_EQ(Renders(path), 2) << target;
  }
}

TEST_F(ProxyCacheE2eTest, VaryFromTheResponseKeepsVariantsApart) {
  const std::string path = PathOf("/d/");
  const std::string target =
      UpstreamTarget(path, {{"cc", "max-age=60"}, {"vary", "Accept-Language"}});
  Get(target, {{"Accept-Language", "de"}});
  auto english = Get(target, {{"Accept-Language", "en"}});
  ASSERT_TRUE(english);
  EXPECT_EQ(english->get_header_value("X-Cache"), "MISS");
  auto german = Get(target, {{"Accept-Language", "de"}});
  auto english_again = Get(target, {{"Accept-Language", " en "}});
  ASSERT_TRUE(german && english_again);
  EXPECT_EQ(german->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(german->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(german->get_header_value("Vary"), "Accept-Language");
  EXPECT_EQ(english_again->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(english_again->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(CacheOf(target), "MISS");  // No Accept-Language: a third variant.
  EXPECT_EQ(Renders(path), 3);
}

TEST_F(ProxyCacheE2eTest, AuthorizationBypassesUnlessTheRouteIsShared) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  const ::httplib::Headers alice = {{"Authorization", "Bearer alice"}};
  Get(target, alice);
  auto again = Get(target, alice);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(again->get_header_value("Cache-Status"), "larder; fwd=bypass; detail=authorization");
  EXPECT_EQ(Renders(path), 2);
  const std::string shared = UpstreamTarget(PathOf("/shared/"), {{"cc", "max-age=60"}});
  Get(shared, alice);
  EXPECT_EQ(CacheOf(shared, {{"Authorization", "Bearer bob"}}), "HIT");
}

TEST_F(ProxyCacheE2eTest, CookieBypassesByDefault) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  Get(target, {{"Cookie", "session=alice"}});
  auto bob = Get(target, {{"Cookie", "session=bob"}});
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(bob->get_header_value("Cache-Status"), "larder; fwd=bypass; detail=cookie");
  EXPECT_EQ(bob->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(stack_->upstream->LastRequestHeader(path, "Cookie"), "session=bob");
}

TEST_F(ProxyCacheE2eTest, RoutesIgnoringOrNamingCookiesShareResponses) {
  const std::string ignoring = UpstreamTarget(PathOf("/ignorecookies/"), {{"cc", "max-age=60"}});
  Get(ignoring, {{"Cookie", "session=alice"}});
  EXPECT_EQ(CacheOf(ignoring, {{"Cookie", "session=bob"}}), "HIT");
  const std::string naming = UpstreamTarget(PathOf("/cookies/"), {{"cc", "max-age=60"}});
  Get(naming, {{"Cookie", "session=alice; theme=dark"}});
  EXPECT_EQ(CacheOf(naming, {{"Cookie", "theme=light; session=alice"}}), "HIT");
  EXPECT_EQ(CacheOf(naming, {{"Cookie", "session=bob"}}), "MISS");
  EXPECT_EQ(Renders(PathOf("/cookies/")), 2);
}

TEST_F(ProxyCacheE2eTest, SetCookieIsNeverReplayedToAnotherClient) {
  const std::string path = PathOf("/d/");
  const std::string target =
      UpstreamTarget(path, {{"cc", "max-age=60"}, {"set_cookie", "session=minted-for-alice"}});
  auto alice = Get(target);
  auto bob = Get(target);
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(bob->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(Renders(path), 2);
}

TEST_F(ProxyCacheE2eTest, RouteDefaultTtlAppliesToResponsesStatingNoLifetime) {
  const std::string path = PathOf("/defttl/");
  Get(path);
  EXPECT_EQ(CacheOf(path), "HIT");
  std::this_thread::sleep_for(kPastTwoSeconds);
  EXPECT_EQ(CacheOf(path), "MISS");
  EXPECT_EQ(Renders(path), 2);
}

TEST_F(ProxyCacheE2eTest, RouteMaxTtlCapsTheUpstreamsLifetime) {
  const std::string path = PathOf("/maxttl/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=3600"}});
  Get(target);
  EXPECT_EQ(CacheOf(target), "HIT");
  std::this_thread::sleep_for(kPastTwoSeconds);
  EXPECT_EQ(CacheOf(target), "MISS");
}

TEST_F(ProxyCacheE2eTest, CacheFalseRouteIsNeverStored) {
  const std::string path = PathOf("/nocache/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  Get(target);
  auto second = Get(target);
  ASSERT_TRUE(second);
  EXPECT_NE(second->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(second->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(second->get_header_value("Cache-Control"), "max-age=60");
}

TEST_F(ProxyCacheE2eTest, UnsafeMethodsInvalidateEveryEntryOfThePath) {
  const std::string path = PathOf("/d/");
  const std::string first = UpstreamTarget(path, {{"cc", "max-age=60"}, {"page", "1"}});
  const std::string second = UpstreamTarget(path, {{"cc", "max-age=60"}, {"page", "2"}});
  ::httplib::Client client = stack_->proxy->Client();
  const std::vector<std::string> methods = {"POST", "PUT", "PATCH", "DELETE"};
  for (const std::string& method : methods) {
    Get(first);
    Get(second);
    ASSERT_EQ(CacheOf(first), "HIT") << method;
    ::httplib::Result write = method == "POST"    ? client.Post(path.c_str(), "x", "text/plain")
                              : method == "PUT"   ? client.Put(path.c_str(), "x", "text/plain")
                              : method == "PATCH" ? client.Patch(path.c_str(), "x", "text/plain")
                                                  : client.Delete(path.c_str());
    ASSERT_TRUE(write) << method;
    EXPECT_EQ(write->status, 200) << method;
    EXPECT_EQ(CacheOf(first), "MISS") << method;
    EXPECT_EQ(CacheOf(second), "MISS") << method;
  }
}

TEST_F(ProxyCacheE2eTest, FailedWriteInvalidatesNothing) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  Get(target);
  ::httplib::Result write =
      stack_->proxy->Client().Post(absl::StrCat(path, "?status=409").c_str(), "x", "text/plain");
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 409);
  EXPECT_EQ(CacheOf(target), "HIT");
}

TEST_F(ProxyCacheE2eTest, HeadIsAnsweredFromTheGetEntry) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  auto get = Get(target);
  auto head = stack_->proxy->Head(target);
  ASSERT_TRUE(get && head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(head->get_header_value("ETag"), get->get_header_value("ETag"));
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyCacheE2eTest, BrowserReloadDirectivesAreServedFromTheCache) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  Get(target);
  for (const ::httplib::Headers& headers : {::httplib::Headers{{"Cache-Control", "max-age=0"}},
                                            ::httplib::Headers{{"Cache-Control", "no-cache"}},
                                            ::httplib::Headers{{"Pragma", "no-cache"}}}) {
    EXPECT_EQ(CacheOf(target, headers), "HIT");
  }
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyCacheE2eTest, OnlyIfCachedWithNothingStoredIs504AndNeverRenders) {
  const std::string path = PathOf("/d/");
  auto response =
      Get(UpstreamTarget(path, {{"cc", "max-age=60"}}), {{"Cache-Control", "only-if-cached"}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_EQ(Renders(path), 0);
}

TEST_F(ProxyCacheE2eTest, RequestsAreCountedInTheProxyMetrics) {
  const std::string target = UpstreamTarget(PathOf("/d/"), {{"cc", "max-age=60"}});
  const std::map<std::string, std::string> hit = {{"cache", "hit"}, {"method", "GET"}};
  const double hits = stack_->proxy->Metric("larder_proxy_requests_total", hit);
  Get(target);
  Get(target);
  Get(target);
  EXPECT_EQ(stack_->proxy->Metric("larder_proxy_requests_total", hit), hits + 2);
  EXPECT_GE(stack_->proxy->Metric("larder_proxy_requests_total", {{"cache", "miss"}}), 1);
  EXPECT_GE(stack_->proxy->Metric("larder_proxy_upstream_seconds_count"), 1);
}

}  // namespace
}  // namespace larder::testing

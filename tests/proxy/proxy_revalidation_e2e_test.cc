// End-to-end: how larder-proxy revalidates and serves stale responses, with a real upstream
// (tests/proxy/upstream_server.py, answering 304 to a matching If-None-Match) and a real
// larderd. Conditional requests to the upstream (a 304 freshens the stored entry), clients'
// own conditionals answered from the store, no-cache responses, stale-while-revalidate and
// stale-if-error from the response's directives and from the route, must-revalidate, and one
// upstream request for concurrent misses. The in-process counterparts are
// tests/http/shared_cache_{revalidation,no_cache,refresh}_e2e_test.cc.
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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
  - name: swr
    prefix: /swr/
    stale_while_revalidate: 30s
  - name: sie
    prefix: /sie/
    stale_if_error: 60s
default:
  namespace: proxy-revalidation-e2e
)";

class ProxyRevalidationE2eTest : public ProxyStackTest {
 protected:
  static void SetUpTestSuite() { StartStack(kRoutes); }

  static std::string LastHeader(const std::string& path, const std::string& name) {
    return stack_->upstream->LastRequestHeader(path, name).value_or("<no request>");
  }
  static bool Revalidated(const ::httplib::Result& result) {
    return result &&
           absl::StrContains(result->get_header_value("Cache-Status"), "detail=revalidated");
  }
  // "<status> <X-Cache> <Cache-Status> <body>" of a response, for failure messages.
  static std::string Describe(const ::httplib::Result& result) {
    if (!result) return "<no response>";
    return absl::StrCat(result->status, " ", result->get_header_value("X-Cache"), " ",
                        result->get_header_value("Cache-Status"), " ", result->body);
  }
  // Whether `response`, to a GET of `path`, is a 200 with `body` that the proxy revalidated: it
  // sent the upstream If-None-Match: "v1".
  static ::testing::AssertionResult RevalidatedWithV1(const ::httplib::Result& response,
                                                      const std::string& path,
                                                      const std::string& body) {
    const std::string sent = LastHeader(path, "If-None-Match");
    if (response && sent == "\"v1\"" && response->status == 200 && response->body == body &&
        Revalidated(response)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << Describe(response) << " (If-None-Match sent: " << sent << ")";
  }
  // Whether a GET of `target` is a hit with `body`.
  static ::testing::AssertionResult HitServes(const std::string& target, const std::string& body) {
    ::httplib::Result hit = Get(target);
    if (hit && hit->get_header_value("X-Cache") == "HIT" && hit->body == body) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << Describe(hit);
  }
  // Polls GET `target` until `wanted` holds for its body, for at most 5 s.
  static ::testing::AssertionResult EventuallyServes(
      const std::string& target, const std::function<bool(const std::string&)>& wanted) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    std::string last;
    while (absl::Now() < deadline) {
      ::httplib::Result result = Get(target);
      if (result && wanted(result->body)) return ::testing::AssertionSuccess();
      if (result) last = Describe(result);
      absl::SleepFor(absl::Milliseconds(50));
    }
    return ::testing::AssertionFailure() << "still " << last << " after 5 s";
  }
  static ::testing::AssertionResult EventuallyServes(const std::string& target,
                                                     const std::string& body) {
    return EventuallyServes(target, [&body](const std::string& got) { return got == body; });
  }
  // Whether `body` is a render of `path` later than render `after`.
  static bool IsRenderAfter(const std::string& body, const std::string& path, int after) {
    absl::string_view rest = body;
    int render = 0;
    return absl::ConsumePrefix(&rest, absl::StrCat(path, " render ")) &&
           absl::SimpleAtoi(rest, &render) && render > after;
  }
};

TEST_F(ProxyRevalidationE2eTest, StaleResponseIsRevalidatedAndA304FreshensIt) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=2"}, {"etag", "\"v1\""}});
  Get(target);
  EXPECT_EQ(LastHeader(path, "If-None-Match"), "");
  std::this_thread::sleep_for(kPastTwoSeconds);
  auto revalidated = Get(target);
  ASSERT_TRUE(revalidated);
  EXPECT_TRUE(RevalidatedWithV1(revalidated, path, absl::StrCat(path, " render 1")));
  EXPECT_EQ(revalidated->get_header_value("ETag"), "\"v1\"");
  EXPECT_EQ(CacheOf(target), "HIT");
  EXPECT_EQ(Renders(path), 2);
}

TEST_F(ProxyRevalidationE2eTest, ChangedUpstreamResponseReplacesTheStoredOne) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=2"}, {"etag", "\"v1\""}});
  Get(target);
  ASSERT_TRUE(stack_->upstream->Override(path, "etag=%22v2%22").ok());
  std::this_thread::sleep_for(kPastTwoSeconds);
  auto changed = Get(target);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(changed->get_header_value("ETag"), "\"v2\"");
  EXPECT_FALSE(Revalidated(changed));
  EXPECT_TRUE(HitServes(target, absl::StrCat(path, " render 2")));
}

TEST_F(ProxyRevalidationE2eTest, LastModifiedIsSentAsIfModifiedSince) {
  const std::string path = PathOf("/d/");
  const std::string last_modified = "Tue, 01 Jan 2030 00:00:00 GMT";
  Get(UpstreamTarget(path, {{"cc", "max-age=2"}, {"last_modified", last_modified}}));
  std::this_thread::sleep_for(kPastTwoSeconds);
  Get(UpstreamTarget(path, {{"cc", "max-age=2"}, {"last_modified", last_modified}}));
  EXPECT_EQ(LastHeader(path, "If-Modified-Since"), last_modified);
}

TEST_F(ProxyRevalidationE2eTest, ClientIfNoneMatchIsAnswered304FromTheStore) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"etag", "\"v1\""}});
  Get(target);
  for (const std::string tag : {"\"v1\"", "W/\"v1\"", "\"v0\", \"v1\"", "*"}) {
    auto response = Get(target, {{"If-None-Match", tag}});
    ASSERT_TRUE(response) << tag;
    EXPECT_EQ(response->status, 304) << tag;
    EXPECT_EQ(response->get_header_value("X-Cache"), "HIT") << tag;
    EXPECT_EQ(response->get_header_value("ETag"), "\"v1\"") << tag;
    EXPECT_EQ(response->body, "") << tag;
  }
  auto other = Get(target, {{"If-None-Match", "\"v0\""}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(other->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyRevalidationE2eTest, ClientConditionalOnAMissStillStoresTheFullResponse) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"etag", "\"v1\""}});
  auto conditional = Get(target, {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(conditional);
  EXPECT_EQ(conditional->status, 304);
  EXPECT_EQ(LastHeader(path, "If-None-Match"), "");  // The proxy asked for the full response.
  EXPECT_TRUE(HitServes(target, absl::StrCat(path, " render 1")));
}

TEST_F(ProxyRevalidationE2eTest, NoCacheResponseIsRevalidatedOnEveryRequest) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "no-cache"}, {"etag", "\"v1\""}});
  auto first = Get(target);
  ASSERT_TRUE(first);
  EXPECT_THAT(first->get_header_value("Cache-Status"), HasSubstr("stored"));
  for (int request = 2; request <= 3; ++request) {
    auto revalidated = Get(target);
    ASSERT_TRUE(revalidated);
    EXPECT_TRUE(RevalidatedWithV1(revalidated, path, absl::StrCat(path, " render 1")));
  }
  auto conditional = Get(target, {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(conditional);
  EXPECT_EQ(conditional->status, 304);
  EXPECT_EQ(Renders(path), 4);
}

TEST_F(ProxyRevalidationE2eTest, StaleWhileRevalidateFromTheResponse) {
  const std::string path = PathOf("/d/");
  const std::string target =
      UpstreamTarget(path, {{"cc", "max-age=2, stale-while-revalidate=30"}, {"delay_ms", "1000"}});
  Get(target);
  std::this_thread::sleep_for(kPastTwoSeconds);
  const absl::Time start = absl::Now();
  auto stale = Get(target);
  ASSERT_TRUE(stale);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(700));  // Not waiting for the upstream.
  EXPECT_EQ(stale->get_header_value("X-Cache"), "STALE");
  EXPECT_THAT(stale->get_header_value("Cache-Status"), HasSubstr("stale-while-revalidate"));
  EXPECT_EQ(stale->body, absl::StrCat(path, " render 1"));
  // The one stale response starts one background render. Counted before any other request:
  // the refreshed copy may itself be stale on arrival (its Date counts the upstream's 1 s of
  // delay, in whole seconds), so each later request may start another.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (Renders(path) < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(Renders(path), 2);
  EXPECT_TRUE(EventuallyServes(
      target, [&path](const std::string& body) { return IsRenderAfter(body, path, 1); }));
}

TEST_F(ProxyRevalidationE2eTest, StaleWhileRevalidateFromTheRoute) {
  const std::string path = PathOf("/swr/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=2"}});
  Get(target);
  std::this_thread::sleep_for(kPastTwoSeconds);
  auto stale = Get(target);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->get_header_value("X-Cache"), "STALE");
  EXPECT_EQ(stale->body, absl::StrCat(path, " render 1"));
  // The refreshed copy may itself be stale by the time a poll reaches it (max-age=2 counts from
  // the upstream's Date, whole seconds, and a loaded machine's round trips), and be served stale
  // while a later render replaces it: any render after the first shows the background refresh.
  EXPECT_TRUE(EventuallyServes(
      target, [&path](const std::string& body) { return IsRenderAfter(body, path, 1); }));
}

TEST_F(ProxyRevalidationE2eTest, MustRevalidateIsNeverServedStale) {
  const std::string path = PathOf("/swr/");
  const std::string target = UpstreamTarget(
      path, {{"cc", "max-age=2, must-revalidate, stale-while-revalidate=30, stale-if-error=60"}});
  Get(target);
  ASSERT_TRUE(stack_->upstream->Override(path, "status=500").ok());
  std::this_thread::sleep_for(kPastTwoSeconds);
  auto after = Get(target);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 500);
  EXPECT_NE(after->get_header_value("X-Cache"), "STALE");
}

TEST_F(ProxyRevalidationE2eTest, StaleIfErrorReplacesAnUpstreamErrorOnlyWhenAllowed) {
  const std::string from_response = PathOf("/d/", "/response");
  const std::string from_route = PathOf("/sie/");
  const std::string not_allowed = PathOf("/d/", "/none");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {from_response, UpstreamTarget(from_response, {{"cc", "max-age=2, stale-if-error=60"}})},
      {from_route, UpstreamTarget(from_route, {{"cc", "max-age=2"}})},
      {not_allowed, UpstreamTarget(not_allowed, {{"cc", "max-age=2"}})},
  };
  for (const auto& [path, target] : cases) {
    Get(target);
    ASSERT_TRUE(stack_->upstream->Override(path, "status=500&body=failing").ok());
  }
  std::this_thread::sleep_for(kPastTwoSeconds);
  for (const auto& [path, target] : cases) {
    auto response = Get(target);
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(Renders(path), 2) << path;
    if (path == not_allowed) {
      EXPECT_EQ(response->status, 500);
      EXPECT_EQ(response->body, "failing");
      continue;
    }
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_EQ(response->get_header_value("X-Cache"), "STALE") << path;
    EXPECT_THAT(response->get_header_value("Cache-Status"), HasSubstr("stale-if-error")) << path;
    EXPECT_EQ(response->body, absl::StrCat(path, " render 1")) << path;
  }
}

TEST_F(ProxyRevalidationE2eTest, ConcurrentMissesReachTheUpstreamOnce) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"delay_ms", "500"}});
  std::vector<std::thread> clients;
  std::vector<std::string> bodies(8);
  for (size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      ::httplib::Result result = stack_->proxy->Get(target);
      bodies[i] = result ? result->body : "<no response>";
    });
  }
  for (std::thread& client : clients) client.join();
  for (const std::string& body : bodies) EXPECT_EQ(body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(Renders(path), 1);
}

}  // namespace
}  // namespace larder::testing

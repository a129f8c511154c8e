// End-to-end over real HTTP and a real larderd: freshness from the response (RFC 9111 section
// 4.2), with an upstream-style handler that states everything in its headers
// (FreshnessSource::kResponse), and the response directives that always win.
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheFreshnessE2eTest : public SharedCacheE2eTest {
 protected:
  static int AgeOf(const ::httplib::Result& result) {
    int age = -1;
    return absl::SimpleAtoi(result->get_header_value("Age"), &age) ? age : -1;
  }
};

TEST_F(SharedCacheFreshnessE2eTest, UpstreamMaxAgeAndAgeDecideTheLifetime) {
  ServeUpstream(Upstream("up"), {{"Cache-Control", "public, max-age=100"}, {"Age", "99"}});
  auto miss = Get("/up");
  auto hit = Get("/up");
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_GE(AgeOf(hit), 99);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto expired = Get("/up");
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(expired->body, "render 2");
}

TEST_F(SharedCacheFreshnessE2eTest, UpstreamWithoutFreshnessIsNotStored) {
  ServeUpstream(Upstream("up"), {});
  Get("/up");
  auto second = Get("/up");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "render 2");
}

TEST_F(SharedCacheFreshnessE2eTest, UpstreamSMaxAgeWinsOverMaxAge) {
  ServeUpstream(Upstream("up"), {{"Cache-Control", "max-age=0, s-maxage=60"}});
  Get("/up");
  auto hit = Get("/up");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->get_header_value("Cache-Control"), "max-age=0, s-maxage=60");
}

TEST_F(SharedCacheFreshnessE2eTest, NoCacheResponseIsRenderedEveryTimeEvenOnAPolicyRoute) {
  ServeUpstream(Policy("nc"), {{"Cache-Control", "no-cache"}});
  Get("/up");
  auto second = Get("/up");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "render 2");
}

TEST_F(SharedCacheFreshnessE2eTest, ShorterMaxAgeThanThePolicyWins) {
  RoutePolicy policy = Policy("short");
  policy.stale_while_revalidate = absl::Seconds(30);
  ServeUpstream(policy, {{"Cache-Control", "max-age=1, must-revalidate"}});
  Get("/up");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto after = Get("/up");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");  // must-revalidate: never STALE
  EXPECT_EQ(after->body, "render 2");
}

}  // namespace
}  // namespace larder::http::testing

// End-to-end over real HTTP and a real larderd, with upstream-style handlers
// (FreshnessSource::kResponse): tags the response names in a header (response_tags_header),
// purged by HttpCache::InvalidateTag and by larderd's Invalidate RPC alike; the route's
// response_default_ttl; and the response's own stale-while-revalidate / stale-if-error.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheUpstreamE2eTest : public SharedCacheE2eTest {
 protected:
  // An upstream route whose responses name their tags in Surrogate-Key.
  RoutePolicy TaggedUpstream(const std::string& name) const {
    RoutePolicy policy = Upstream(name);
    policy.response_tags_header = "Surrogate-Key";
    return policy;
  }
  // GET /up; its X-Cache, or "<failed>".
  std::string XCache() {
    auto result = Get("/up");
    return result ? result->get_header_value("X-Cache") : "<failed>";
  }
};

TEST_F(SharedCacheUpstreamE2eTest, ResponseTagsArePurgedByHttpCacheAndByLarderd) {
  const RoutePolicy policy = TaggedUpstream("tags");
  ::httplib::Headers headers = {{"Cache-Control", "max-age=60"}};
  headers.emplace("Surrogate-Key", "product-7 all");
  ServeUpstream(policy, headers);
  EXPECT_EQ(XCache(), "MISS");
  auto hit = Get("/up");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->get_header_value("Surrogate-Key"), "product-7 all");  // Kept and replayed.

  auto purged = cache().InvalidateTag(policy.cache_namespace, "product-7");
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(XCache(), "MISS");
  EXPECT_EQ(XCache(), "HIT");

  // Another process (larderctl, another replica) purging through larderd's Invalidate RPC.
  auto by_rpc = client_->Invalidate(policy.cache_namespace, InvalidateTarget::Tag("all"));
  ASSERT_TRUE(by_rpc.ok()) << by_rpc.status();
  EXPECT_EQ(*by_rpc, 1);
  auto after = Get("/up");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(after->body, "render 3");
}

TEST_F(SharedCacheUpstreamE2eTest, TooManyResponseTagsAreServedAndNotStored) {
  std::string tags;
  for (int i = 0; i < limits::kMaxTagsPerEntry; ++i) absl::StrAppend(&tags, "t", i, ",");
  ServeUpstream(TaggedUpstream("toomany"),
                {{"Cache-Control", "max-age=60"}, {"Surrogate-Key", tags}});
  auto first = Get("/up");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("Cache-Status"), "larder; fwd=uri-miss");
  auto second = Get("/up");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "render 2");
}

TEST_F(SharedCacheUpstreamE2eTest, DefaultTtlStoresAnUpstreamThatStatesNoLifetime) {
  RoutePolicy policy = TaggedUpstream("default");
  policy.response_default_ttl = absl::Seconds(30);
  ServeUpstream(policy, {});
  EXPECT_EQ(XCache(), "MISS");
  auto hit = Get("/up");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_THAT(hit->get_header_value("Cache-Status"), ::testing::StartsWith("larder; hit; ttl="));
  EXPECT_EQ(renders(), 1);
}

TEST_F(SharedCacheUpstreamE2eTest, UpstreamStaleWhileRevalidateServesStaleAndRefreshes) {
  ServeUpstream(TaggedUpstream("swr"), {{"Cache-Control", "max-age=1, stale-while-revalidate=60"}});
  EXPECT_EQ(XCache(), "MISS");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto stale = Get("/up");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->get_header_value("X-Cache"), "STALE");
  EXPECT_EQ(stale->body, "render 1");
  cache().WaitForRefreshes();
  auto refreshed = Get("/up");
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(refreshed->body, "render 2");
}

TEST_F(SharedCacheUpstreamE2eTest, UpstreamStaleIfErrorReplacesItsFailure) {
  ServeUpstream(TaggedUpstream("sie"), {{"Cache-Control", "max-age=1, stale-if-error=60"}});
  EXPECT_EQ(XCache(), "MISS");
  upstream_failing_ = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto replaced = Get("/up");
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->status, 200);
  EXPECT_EQ(replaced->body, "render 1");
  EXPECT_THAT(replaced->get_header_value("Cache-Status"), ::testing::HasSubstr("fwd-status=503"));
  EXPECT_THAT(replaced->get_header_value("Cache-Status"),
              ::testing::HasSubstr("detail=stale-if-error"));
}

}  // namespace
}  // namespace larder::http::testing

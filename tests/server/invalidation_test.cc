// CacheHandler: Invalidate by namespace, prefix, glob and tag, with exact counts, and complete
// isolation between namespaces.
#include "gtest/gtest.h"
#include "server/service/cache_handler.h"
#include "tests/server/handler_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

class InvalidationTest : public CacheHandlerTestBase {
 protected:
  int64_t Invalidate(const std::string& ns, v1::InvalidateRequest request) {
    request.set_namespace_(ns);
    v1::InvalidateResponse response;
    EXPECT_OK(handler_->Invalidate(request, response));
    return response.deleted();
  }
  static v1::InvalidateRequest All() {
    v1::InvalidateRequest request;
    request.set_all(true);
    return request;
  }
  static v1::InvalidateRequest Prefix(const std::string& prefix) {
    v1::InvalidateRequest request;
    request.set_prefix(prefix);
    return request;
  }
  static v1::InvalidateRequest Pattern(const std::string& pattern) {
    v1::InvalidateRequest request;
    request.set_pattern(pattern);
    return request;
  }
  static v1::InvalidateRequest Tag(const std::string& tag) {
    v1::InvalidateRequest request;
    request.set_tag(tag);
    return request;
  }
};

TEST_F(InvalidationTest, SameKeyInTwoNamespacesIsTwoEntries) {
  Put("a", "k", "in a");
  Put("b", "k", "in b");
  EXPECT_EQ(Fetch("a", "k").value(), "in a");
  EXPECT_EQ(Fetch("b", "k").value(), "in b");
}

TEST_F(InvalidationTest, InvalidatingANamespaceNeverTouchesAnother) {
  for (int i = 0; i < 5; ++i) {
    Put("a", "k" + std::to_string(i), "v");
    Put("b", "k" + std::to_string(i), "v");
  }
  EXPECT_EQ(Invalidate("a", All()), 5);
  EXPECT_FALSE(Fetch("a", "k0").found());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Fetch("b", "k" + std::to_string(i)).found());
  EXPECT_EQ(Invalidate("a", All()), 0);
}

TEST_F(InvalidationTest, PrefixRemovesOnlyMatchingKeys) {
  Put("ns", "user:1", "v");
  Put("ns", "user:2", "v");
  Put("ns", "users", "v");
  Put("ns", "item:1", "v");
  Put("other", "user:9", "v");
  EXPECT_EQ(Invalidate("ns", Prefix("user:")), 2);
  EXPECT_TRUE(Fetch("ns", "users").found());
  EXPECT_TRUE(Fetch("ns", "item:1").found());
  EXPECT_TRUE(Fetch("other", "user:9").found());
}

TEST_F(InvalidationTest, PatternMatchesGlobs) {
  Put("ns", "user:1:profile", "v");
  Put("ns", "user:22:profile", "v");
  Put("ns", "user:1:settings", "v");
  Put("ns", "a?c", "v");
  Put("ns", "abc", "v");
  EXPECT_EQ(Invalidate("ns", Pattern("user:*:profile")), 2);
  EXPECT_TRUE(Fetch("ns", "user:1:settings").found());
  EXPECT_EQ(Invalidate("ns", Pattern("a\\?c")), 1);
  EXPECT_TRUE(Fetch("ns", "abc").found());
}

TEST_F(InvalidationTest, TagRemovesEveryTaggedEntryOfTheNamespace) {
  Put("ns", "a", "v", std::nullopt, {"items", "hot"});
  Put("ns", "b", "v", std::nullopt, {"items"});
  Put("ns", "c", "v", std::nullopt, {"other"});
  Put("elsewhere", "a", "v", std::nullopt, {"items"});
  EXPECT_EQ(Invalidate("ns", Tag("items")), 2);
  EXPECT_FALSE(Fetch("ns", "a").found());
  EXPECT_TRUE(Fetch("ns", "c").found());
  EXPECT_TRUE(Fetch("elsewhere", "a").found());
  EXPECT_EQ(Invalidate("ns", Tag("hot")), 0);
}

TEST_F(InvalidationTest, OverwriteReplacesTags) {
  Put("ns", "a", "v", std::nullopt, {"old"});
  Put("ns", "a", "v2", std::nullopt, {"new"});
  EXPECT_EQ(Invalidate("ns", Tag("old")), 0);
  EXPECT_TRUE(Fetch("ns", "a").found());
  EXPECT_EQ(Invalidate("ns", Tag("new")), 1);
}

TEST_F(InvalidationTest, ExpiredEntriesAreNotCountedAsDeleted) {
  Put("ns", "short", "v", 1);
  Put("ns", "long", "v", 100);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Invalidate("ns", All()), 1);
}

}  // namespace
}  // namespace larder::server

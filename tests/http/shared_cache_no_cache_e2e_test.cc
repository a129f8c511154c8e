// End-to-end over real HTTP and a real larderd: a response marked Cache-Control: no-cache (RFC
// 9111 section 5.2.2.4) is stored, and every later request is answered only after the handler
// revalidated it: a 304 serves the stored body, a full response replaces it. The route is wired
// with MakeRouteHandler (which can set the conditional headers) on a cpp-httplib server.
#include <atomic>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheNoCacheE2eTest : public SharedCacheE2eTest {
 protected:
  // GET /doc: a no-cache document with ETag "v<version_>", answering 304 to a matching
  // If-None-Match.
  void ServeDocument(const RoutePolicy& policy) {
    Serve([this, policy](::httplib::Server& server) {
      server.Get("/doc", [this, policy](const ::httplib::Request& req, ::httplib::Response& res) {
        const Request core = larder::httplib::ToCoreRequest(req);
        auto handler =
            MakeRouteHandler([this](const Request& request) { return Render(request); }, core);
        larder::httplib::ApplyCoreResponse(cache().Handle(core, policy, *handler), res);
      });
    });
  }
  Response Render(const Request& request) {
    const int render = ++rendered_;
    const std::string etag = absl::StrCat("\"v", version_.load(), "\"");
    const Headers headers{{"ETag", etag}, {"Cache-Control", "no-cache"}};
    const std::string if_none_match = request.headers.Get("If-None-Match").value_or("");
    {
      absl::MutexLock lock(&mutex_);
      last_if_none_match_ = if_none_match;
    }
    if (if_none_match == etag) {
      ++not_modified_;
      return Response{304, headers, ""};
    }
    return Response{200, headers, absl::StrCat("document v", version_.load(), " render ", render)};
  }
  static bool Revalidated(const ::httplib::Result& result) {
    return result->get_header_value("Cache-Status").find("detail=revalidated") != std::string::npos;
  }

  std::atomic<int> rendered_{0};
  std::atomic<int> not_modified_{0};
  std::atomic<int> version_{1};
  // The If-None-Match the handler last saw.
  std::string last_if_none_match() {
    absl::MutexLock lock(&mutex_);
    return last_if_none_match_;
  }
  absl::Mutex mutex_;
  std::string last_if_none_match_ ABSL_GUARDED_BY(mutex_);
};

TEST_F(SharedCacheNoCacheE2eTest, NoCacheDocumentIsStoredAndRevalidatedOnEveryRequest) {
  ServeDocument(Policy("doc"));
  auto first = Get("/doc");
  ASSERT_TRUE(first);
  EXPECT_NE(first->get_header_value("Cache-Status").find("stored"), std::string::npos);
  for (int request = 2; request <= 3; ++request) {
    auto revalidated = Get("/doc");
    ASSERT_TRUE(revalidated);
    EXPECT_EQ(last_if_none_match(), "\"v1\"");
    EXPECT_EQ(revalidated->status, 200);
    EXPECT_EQ(revalidated->body, "document v1 render 1");
    EXPECT_TRUE(Revalidated(revalidated)) << revalidated->get_header_value("Cache-Status");
  }
  EXPECT_EQ(not_modified_.load(), 2);
  EXPECT_EQ(rendered_.load(), 3);
}

TEST_F(SharedCacheNoCacheE2eTest, ChangedDocumentReplacesTheStoredOne) {
  ServeDocument(Policy("doc"));
  Get("/doc");
  version_ = 2;
  auto changed = Get("/doc");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->body, "document v2 render 2");
  EXPECT_FALSE(Revalidated(changed));
  auto revalidated = Get("/doc");
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(last_if_none_match(), "\"v2\"");
  EXPECT_EQ(revalidated->body, "document v2 render 2");
  EXPECT_EQ(not_modified_.load(), 1);
}

TEST_F(SharedCacheNoCacheE2eTest, ClientConditionalIsAnswered304AfterRevalidation) {
  ServeDocument(Policy("doc"));
  Get("/doc");
  auto response = Get("/doc", {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 304);
  EXPECT_EQ(not_modified_.load(), 1);
}

}  // namespace
}  // namespace larder::http::testing

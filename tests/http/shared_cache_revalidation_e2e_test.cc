// End-to-end over real HTTP and a real larderd: a stale stored response is revalidated with the
// handler, whose 304 freshens it. The route is wired with MakeRouteHandler (which can set the
// conditional headers) on a cpp-httplib server.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheRevalidationE2eTest : public SharedCacheE2eTest {
 protected:
  // GET /doc: a document with ETag "v1", max-age=1, that answers 304 to If-None-Match: "v1".
  void ServeDocument(const RoutePolicy& policy) {
    Serve([this, policy](::httplib::Server& server) {
      server.Get("/doc", [this, policy](const ::httplib::Request& req, ::httplib::Response& res) {
        const Request core = larder::httplib::ToCoreRequest(req);
        auto handler = MakeRouteHandler(
            [this](const Request& request) {
              const int render = ++rendered_;
              if (request.headers.Get("If-None-Match") == std::optional<std::string>("\"v1\"")) {
                ++not_modified_;
                return Response{304, {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}}, ""};
              }
              return Response{200,
                              {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}},
                              absl::StrCat("document render ", render)};
            },
            core);
        larder::httplib::ApplyCoreResponse(cache().Handle(core, policy, *handler), res);
      });
    });
  }
  std::atomic<int> rendered_{0};
  std::atomic<int> not_modified_{0};
};

TEST_F(SharedCacheRevalidationE2eTest, StaleDocumentIsRevalidatedAndServedFromTheStore) {
  ServeDocument(Policy("doc"));
  auto first = Get("/doc");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto revalidated = Get("/doc");
  ASSERT_TRUE(first && revalidated);
  EXPECT_EQ(not_modified_.load(), 1);
  EXPECT_EQ(revalidated->status, 200);
  EXPECT_EQ(revalidated->body, "document render 1");
  EXPECT_NE(revalidated->get_header_value("Cache-Status").find("detail=revalidated"),
            std::string::npos);
  auto hit = Get("/doc");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(rendered_.load(), 2);
}

TEST_F(SharedCacheRevalidationE2eTest, ClientConditionalAfterRevalidationIs304) {
  ServeDocument(Policy("doc"));
  Get("/doc");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto response = Get("/doc", {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 304);
  EXPECT_EQ(not_modified_.load(), 1);
}

}  // namespace
}  // namespace larder::http::testing

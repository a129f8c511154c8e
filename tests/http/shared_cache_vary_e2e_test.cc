// End-to-end over real HTTP and a real larderd: the Vary a handler sets selects the stored
// variant, and every variant of a URL lives side by side in larder.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheVaryE2eTest : public SharedCacheE2eTest {
 protected:
  void ServePage(const RoutePolicy& policy) {
    Serve([&](::httplib::Server& server) {
      server.Get("/page",
                 Cached(policy, [this](const ::httplib::Request& request, ::httplib::Response& r) {
                   r.set_header("Vary", "Accept-Language");
                   r.set_content(absl::StrCat(request.get_header_value("Accept-Language"),
                                              " render ", renders()),
                                 "text/plain");
                 }));
      server.Put("/page", Cached(policy, [](const ::httplib::Request&, ::httplib::Response& r) {
                   r.status = 204;
                 }));
    });
  }
};

TEST_F(SharedCacheVaryE2eTest, GermanPageIsNeverServedToAnEnglishRequest) {
  ServePage(Policy("page"));
  auto german = Get("/page", {{"Accept-Language", "de"}});
  auto english = Get("/page", {{"Accept-Language", "en"}});
  ASSERT_TRUE(german && english);
  EXPECT_EQ(english->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(english->body, "en render 2");
}

TEST_F(SharedCacheVaryE2eTest, BothVariantsAreHitsAfterOneRenderEach) {
  ServePage(Policy("page"));
  Get("/page", {{"Accept-Language", "de"}});
  Get("/page", {{"Accept-Language", "en"}});
  auto german = Get("/page", {{"Accept-Language", "de"}});
  auto english = Get("/page", {{"Accept-Language", " en "}});
  ASSERT_TRUE(german && english);
  EXPECT_EQ(german->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(german->body, "de render 1");
  EXPECT_EQ(english->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(english->body, "en render 2");
  EXPECT_EQ(german->get_header_value("Vary"), "Accept-Language");
  EXPECT_EQ(renders(), 2);
}

TEST_F(SharedCacheVaryE2eTest, AWriteToThePathRemovesEveryVariant) {
  ServePage(Policy("page"));
  Get("/page", {{"Accept-Language", "de"}});
  Get("/page", {{"Accept-Language", "en"}});
  auto put = Client().Put("/page", "x", "text/plain");
  ASSERT_TRUE(put);
  auto german = Get("/page", {{"Accept-Language", "de"}});
  auto english = Get("/page", {{"Accept-Language", "en"}});
  ASSERT_TRUE(german && english);
  EXPECT_EQ(german->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(english->get_header_value("X-Cache"), "MISS");
}

}  // namespace
}  // namespace larder::http::testing

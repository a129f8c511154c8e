// End-to-end over real HTTP and a real larderd: writes invalidate by RFC 9111 section 4.4,
// redirects and unknown unsafe methods included.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

class SharedCacheWriteE2eTest : public SharedCacheE2eTest {
 protected:
  void ServeItems(int write_status, std::string location) {
    const RoutePolicy policy = Policy("items");
    Serve([&, write_status, location](::httplib::Server& server) {
      auto read = [this](const ::httplib::Request& request, ::httplib::Response& r) {
        r.set_content(absl::StrCat(request.path, " render ", renders()), "text/plain");
      };
      auto write = [write_status, location](const ::httplib::Request&, ::httplib::Response& r) {
        r.status = write_status;
        if (!location.empty()) r.set_header("Location", location);
      };
      server.Get("/items/(\\d+)", Cached(policy, read));
      server.Post("/items/(\\d+)", Cached(policy, write));
      server.Put("/items/(\\d+)", Cached(policy, write));
    });
  }
  void Warm() {
    Get("/items/1");
    Get("/items/2");
  }
  std::string CacheOf(const std::string& path) {
    auto result = Get(path);
    return result ? result->get_header_value("X-Cache") : "<error>";
  }
};

TEST_F(SharedCacheWriteE2eTest, PostAnsweredSeeOtherInvalidatesTheTargetAndTheLocation) {
  ServeItems(303, "/items/2");
  Warm();
  ASSERT_EQ(CacheOf("/items/1"), "HIT");
  ASSERT_TRUE(Client().Post("/items/1", "x", "text/plain"));
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
  EXPECT_EQ(CacheOf("/items/2"), "MISS");
}

TEST_F(SharedCacheWriteE2eTest, PutAnsweredMovedPermanentlyInvalidatesTheOldPage) {
  ServeItems(301, "http://127.0.0.1/elsewhere");
  Warm();
  ASSERT_TRUE(Client().Put("/items/1", "x", "text/plain"));
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
}

TEST_F(SharedCacheWriteE2eTest, ErrorAnswerInvalidatesNothing) {
  ServeItems(409, "/items/2");
  Warm();
  ASSERT_TRUE(Client().Post("/items/1", "x", "text/plain"));
  EXPECT_EQ(CacheOf("/items/1"), "HIT");
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
}

}  // namespace
}  // namespace larder::http::testing

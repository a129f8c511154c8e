// End-to-end over real HTTP and a real larderd: responses to requests carrying Cookie are kept
// out of the shared cache, and Set-Cookie is never replayed.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/shared_cache_e2e_fixture.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;

class SharedCachePrivacyE2eTest : public SharedCacheE2eTest {
 protected:
  // Greets whoever's Cookie it sees.
  void ServeAccount(const RoutePolicy& policy) {
    Serve([&](::httplib::Server& server) {
      server.Get("/account",
                 Cached(policy, [this](const ::httplib::Request& request, ::httplib::Response& r) {
                   r.set_content(absl::StrCat("hello ", request.get_header_value("Cookie"),
                                              " render ", renders()),
                                 "text/plain");
                 }));
    });
  }
};

TEST_F(SharedCachePrivacyE2eTest, BobNeverGetsAlicesResponse) {
  ServeAccount(Policy("account"));
  auto alice = Get("/account", {{"Cookie", "session=alice"}});
  auto bob = Get("/account", {{"Cookie", "session=bob"}});
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(alice->body, "hello session=alice render 1");
  EXPECT_EQ(bob->body, "hello session=bob render 2");
  EXPECT_EQ(bob->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(bob->get_header_value("Cache-Status"), "larder; fwd=bypass; detail=cookie");
  EXPECT_THAT(bob->get_header_value("Cache-Control"), HasSubstr("private"));
}

TEST_F(SharedCachePrivacyE2eTest, RouteIgnoringCookiesSharesOneResponse) {
  RoutePolicy policy = Policy("news");
  policy.ignore_cookies = true;
  ServeAccount(policy);
  auto alice = Get("/account", {{"Cookie", "session=alice"}});
  auto bob = Get("/account", {{"Cookie", "session=bob"}});
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(bob->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(bob->body, alice->body);
  EXPECT_EQ(renders(), 1);
}

TEST_F(SharedCachePrivacyE2eTest, SetCookieIsNeverReplayedToAnotherClient) {
  RoutePolicy policy = Policy("login");
  policy.ignore_cookies = true;
  Serve([&](::httplib::Server& server) {
    server.Get("/login", Cached(policy, [](const ::httplib::Request&, ::httplib::Response& r) {
                 r.set_header("Set-Cookie", "session=minted-for-alice");
                 r.set_content("welcome", "text/plain");
               }));
  });
  auto alice = Get("/login");
  auto bob = Get("/login");
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(bob->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(renders(), 2);
  EXPECT_THAT(alice->get_header_value("Cache-Control"), HasSubstr("private"));
}

}  // namespace
}  // namespace larder::http::testing

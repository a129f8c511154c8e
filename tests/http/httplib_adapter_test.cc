// The cpp-httplib adapter in process: a real httplib server on a loopback port, the pipeline
// over the in-memory test double, and a FakeClock.
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "client/src/httplib/replay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/httplib/cached.h"
#include "tests/http/in_memory_response_store.h"
#include "tests/testing/fake_clock.h"

namespace larder::httplib {
namespace {

using ::testing::HasSubstr;

class HttplibAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::HttpCacheOptions options;
    options.clock = &clock_;
    cache_ = *http::HttpCache::Create(store_, options);
    policy_.cache_namespace = "items";
    policy_.ttl = absl::Seconds(30);
    policy_.stale_while_revalidate = absl::Seconds(5);
    ConfigureServer(server_, ServerOptions{});
    server_.Get(
        "/items/(\\d+)",
        Cached(*cache_, policy_, [this](const ::httplib::Request& req, ::httplib::Response& res) {
          res.set_content(
              absl::StrCat("{\"id\":", req.matches[1].str(), ",\"render\":", ++renders_, "}"),
              "application/json");
        }));
    server_.Get("/boom",
                Cached(*cache_, policy_, [](const ::httplib::Request&, ::httplib::Response&) {
                  throw std::runtime_error("boom");
                }));
    port_ = Bind(server_, "127.0.0.1", 0, ServerOptions{});
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
    client_ = std::make_unique<::httplib::Client>("127.0.0.1", port_);
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  larder::testing::FakeClock clock_;
  std::shared_ptr<http::testing::InMemoryResponseStore> store_ =
      std::make_shared<http::testing::InMemoryResponseStore>(clock_);
  std::unique_ptr<http::HttpCache> cache_;
  http::RoutePolicy policy_;
  std::atomic<int> renders_{0};
  ::httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<::httplib::Client> client_;
};

TEST_F(HttplibAdapterTest, OneLineWrappingCachesTheRoute) {
  auto miss = client_->Get("/items/7");
  auto hit = client_->Get("/items/7");
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(miss->body, "{\"id\":7,\"render\":1}");
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(hit->body, miss->body);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->get_header_value("Content-Type"), "application/json");
}

TEST_F(HttplibAdapterTest, NotModifiedHasNoBody) {
  auto full = client_->Get("/items/7");
  ASSERT_TRUE(full);
  auto not_modified = client_->Get("/items/7", {{"If-None-Match", full->get_header_value("ETag")}});
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  EXPECT_FALSE(not_modified->has_header("Content-Length"));  // Not cpp-httplib's "0".
}

TEST_F(HttplibAdapterTest, HeadAnnouncesTheLengthOfTheGetBody) {
  auto get = client_->Get("/items/7");
  auto head = client_->Head("/items/7");
  ASSERT_TRUE(get && head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(renders_.load(), 1);
}

TEST_F(HttplibAdapterTest, BackgroundRefreshSeesTheRouteCaptures) {
  client_->Get("/items/42");
  clock_.Advance(absl::Seconds(31));
  auto stale = client_->Get("/items/42");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->get_header_value("X-Cache"), "STALE");
  cache_->WaitForRefreshes();
  auto refreshed = client_->Get("/items/42");
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(refreshed->body, "{\"id\":42,\"render\":2}");
}

TEST_F(HttplibAdapterTest, RangeAndAcceptEncodingDoNotChangeTheBytesSent) {
  auto full = client_->Get("/items/7");
  ASSERT_TRUE(full);
  client_->set_decompress(false);
  auto ranged = client_->Get("/items/7", {{"Range", "bytes=0-3"}, {"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(ranged);
  EXPECT_EQ(ranged->status, 200);
  EXPECT_EQ(ranged->body, full->body);
  EXPECT_FALSE(ranged->has_header("Content-Range"));
  EXPECT_FALSE(ranged->has_header("Content-Encoding"));
  EXPECT_EQ(ranged->get_header_value("Accept-Ranges"), "none");
  EXPECT_EQ(ranged->get_header_value("ETag"), full->get_header_value("ETag"));
}

TEST_F(HttplibAdapterTest, HandlerExceptionReachesCppHttplib) {
  auto response = client_->Get("/boom");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(store_->size(), 0u);
}

TEST(ReplayTest, RebuildsNestedCapturesOnTheCopy) {
  ::httplib::Request request;
  request.method = "GET";
  request.path = "/users/ada/posts/12";
  ASSERT_TRUE(std::regex_match(request.path, request.matches,
                               std::regex("/users/(([a-z]+))/posts/(\\d+)")));
  auto copy = internal::ReplayableCopy(request);
  ASSERT_NE(copy, nullptr);
  request.path = "overwritten";  // The copy owns its own path.
  ASSERT_EQ(copy->matches.size(), 4u);
  EXPECT_EQ(copy->matches[1].str(), "ada");
  EXPECT_EQ(copy->matches[2].str(), "ada");
  EXPECT_EQ(copy->matches[3].str(), "12");
}

TEST(ReplayTest, UnmatchedOptionalGroupCannotBeReplayed) {
  ::httplib::Request request;
  request.path = "/a";
  ASSERT_TRUE(std::regex_match(request.path, request.matches, std::regex("/a(/b)?")));
  EXPECT_EQ(internal::ReplayableCopy(request), nullptr);
}

TEST(ReplayTest, CopyWithHeadersReplacesFieldsOfAnyCaseAndKeepsTheCaptures) {
  ::httplib::Request request;
  request.method = "GET";
  request.path = "/docs/seven";
  request.body = "payload";
  request.headers.emplace("if-none-match", "\"client\"");
  request.headers.emplace("If-None-Match", "\"other\"");
  request.headers.emplace("Accept", "text/plain");
  ASSERT_TRUE(std::regex_match(request.path, request.matches, std::regex("/docs/(\\w+)")));
  auto copy = internal::ReplayableCopyWithHeaders(request, {{"If-None-Match", "\"v1\""}});
  ASSERT_NE(copy, nullptr);
  request.path = "overwritten";
  EXPECT_EQ(copy->get_header_value_count("If-None-Match"), 1u);
  EXPECT_EQ(copy->get_header_value("If-None-Match"), "\"v1\"");
  EXPECT_EQ(copy->get_header_value("Accept"), "text/plain");
  EXPECT_EQ(copy->body, "payload");
  EXPECT_EQ(copy->matches[1].str(), "seven");
}

TEST(ReplayTest, UnmatchedOptionalGroupCannotBeCopiedWithHeaders) {
  ::httplib::Request request;
  request.path = "/a";
  ASSERT_TRUE(std::regex_match(request.path, request.matches, std::regex("/a(/b)?")));
  EXPECT_EQ(internal::ReplayableCopyWithHeaders(request, {{"If-None-Match", "\"v1\""}}), nullptr);
}

TEST(ReplayTest, PositionalPatternOfSiblingsAndGaps) {
  ::httplib::Match matches;
  const std::string path = "/x/12/y/34";
  ASSERT_TRUE(std::regex_match(path, matches, std::regex("/x/(\\d+)/y/(\\d+)")));
  EXPECT_EQ(internal::PositionalPattern(matches, path.size()),
            "[\\s\\S]{3}([\\s\\S]{2})[\\s\\S]{3}([\\s\\S]{2})");
}

TEST(ConversionTest, CoreRequestCarriesHostPathQueryAndHeaders) {
  ::httplib::Request request;
  request.method = "GET";
  request.path = "/search";
  request.target = "/search?q=tea&page=2";
  request.headers.emplace("Host", "example.com");
  request.headers.emplace("Accept-Language", "de");
  const http::Request core = ToCoreRequest(request);
  EXPECT_EQ(core.host, "example.com");
  EXPECT_EQ(core.path, "/search");
  EXPECT_EQ(core.query, "q=tea&page=2");
  EXPECT_EQ(core.headers.Get("accept-language"), "de");
  EXPECT_EQ(core.scheme, "http");
}

TEST(ConversionTest, DecodePathDecodesAsCppHttplibDoes) {
  // The Beast adapter keys with http::DecodePath; cpp-httplib's own decoder fills req.path.
  for (const char* raw : {"/items/%37", "/a%2fb", "/%2541", "/caf%C3%A9", "/a+b", "/%zz/%4/%",
                          "/%u00e9", "/%u0031", "/a%uD800b", "/%u12", "/%", "/%u", "/a%00b"}) {
    EXPECT_EQ(http::DecodePath(raw), ::httplib::detail::decode_url(raw, false)) << raw;
  }
}

}  // namespace
}  // namespace larder::httplib

// End-to-end: both framework adapters serving real HTTP on loopback ports in this process, one
// HttpCache over a real larderd (NewLarderResponseStore). Checks what the adapters add to the
// core: the Beast adapter's percent-decoded path (keys and invalidation), the same key for the
// same request through either adapter, Range ignored, and If-Modified-Since in every
// HTTP-date format.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/beast/cached.h"
#include "larder/client.h"
#include "larder/common/etag.h"
#include "larder/http/larder_response_store.h"
#include "larder/httplib/cached.h"
#include "tests/http/beast_server.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder::http::testing {
namespace {

namespace bhttp = boost::beast::http;

constexpr char kLastModified[] = "Sun, 06 Nov 1994 08:49:37 GMT";
// Both servers are reached under this name, so the Host part of their keys is the same.
const ::httplib::Headers kHost = {{"Host", "shop.example"}};

class AdaptersE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto larderd = larder::testing::LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = std::move(*larderd).release();
    ClientOptions options;
    options.target = larderd_->grpc_address();
    options.deadline = absl::Seconds(5);
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    cache_ = std::move(*HttpCache::Create(NewLarderResponseStore(*client))).release();
  }
  static void TearDownTestSuite() {
    delete cache_;
    delete larderd_;
  }

  void SetUp() override {
    RoutePolicy policy;
    policy.cache_namespace = "adapters";
    policy.ttl = absl::Seconds(60);
    StartHttplib(policy);
    beast_ = std::make_unique<BeastServer>(beast::Cached(*cache_, policy, BeastRender()),
                                           beast::Cached(*cache_, policy, BeastWrite()));
  }
  void TearDown() override {
    httplib_.stop();
    httplib_thread_.join();
  }

  // Renders "{"path":…,"render":n}" with a Last-Modified, from either framework.
  std::string Body(const std::string& path) {
    return absl::StrCat(R"({"path":")", path, R"(","render":)", ++renders_, "}");
  }
  beast::Handler BeastRender() {
    return [this](const beast::BeastRequest& request) {
      beast::BeastResponse response{bhttp::status::ok, request.version()};
      response.set(bhttp::field::content_type, "application/json");
      response.set(bhttp::field::last_modified, kLastModified);
      response.body() = Body(std::string(request.target()));
      return response;
    };
  }
  beast::Handler BeastWrite() {
    return [](const beast::BeastRequest& request) {
      beast::BeastResponse response{bhttp::status::no_content, request.version()};
      return response;
    };
  }
  void StartHttplib(const RoutePolicy& policy) {
    httplib_.Get("/items/.*",
                 larder::httplib::Cached(*cache_, policy, [this](const auto& req, auto& res) {
                   res.set_header("Last-Modified", kLastModified);
                   res.set_content(Body(req.path), "application/json");
                 }));
    httplib_port_ = larder::httplib::Bind(httplib_, "127.0.0.1", 0, {});
    httplib_thread_ = std::thread([this] { httplib_.listen_after_bind(); });
    while (!httplib_.is_running()) std::this_thread::yield();
  }

  ::httplib::Result BeastGet(const std::string& target, ::httplib::Headers headers = kHost) {
    return ::httplib::Client("127.0.0.1", beast_->port()).Get(target.c_str(), headers);
  }
  ::httplib::Result HttplibGet(const std::string& target, ::httplib::Headers headers = kHost) {
    return ::httplib::Client("127.0.0.1", httplib_port_).Get(target.c_str(), headers);
  }

  static larder::testing::LarderdProcess* larderd_;
  static HttpCache* cache_;
  std::atomic<int> renders_{0};
  ::httplib::Server httplib_;
  int httplib_port_ = 0;
  std::thread httplib_thread_;
  std::unique_ptr<BeastServer> beast_;
};

larder::testing::LarderdProcess* AdaptersE2eTest::larderd_ = nullptr;
HttpCache* AdaptersE2eTest::cache_ = nullptr;

TEST_F(AdaptersE2eTest, BeastWriteThroughAnEncodedPathInvalidatesTheDecodedPath) {
  auto stored = BeastGet("/items/7");
  auto encoded_hit = BeastGet("/items/%37");  // The same path: the same entry.
  ASSERT_TRUE(stored && encoded_hit);
  EXPECT_EQ(stored->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(encoded_hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(encoded_hit->body, stored->body);

  auto put = ::httplib::Client("127.0.0.1", beast_->port())
                 .Put("/item%73/%37", kHost, "{}", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 204);
  auto after = BeastGet("/items/7");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");
  EXPECT_NE(after->body, stored->body);
}

TEST_F(AdaptersE2eTest, BothAdaptersKeyTheSameRequestAlike) {
  // Stored through cpp-httplib with an encoded target, found through Beast with another
  // encoding of the same path (the body names the path the first handler saw).
  auto stored = HttplibGet("/items/caf%C3%A9%20au%20lait?b=2&a=1");
  auto via_beast = BeastGet("/items/caf%c3%a9%20au%20l%61it?a=1&b=2");
  ASSERT_TRUE(stored && via_beast);
  EXPECT_EQ(stored->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(via_beast->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(via_beast->body, stored->body);
  EXPECT_EQ(via_beast->get_header_value("ETag"), stored->get_header_value("ETag"));
  // Repeated parameters keep their order: another list, another entry.
  auto tags = BeastGet("/items/tagged?tag=x&tag=y");
  auto reversed = HttplibGet("/items/tagged?tag=y&tag=x");
  ASSERT_TRUE(tags && reversed);
  EXPECT_EQ(reversed->get_header_value("X-Cache"), "MISS");
}

TEST_F(AdaptersE2eTest, BeastIgnoresRangeAndSendsTheStoredResponse) {
  auto stored = BeastGet("/items/ranged");
  ::httplib::Headers ranged_headers = kHost;
  ranged_headers.emplace("Range", "bytes=0-3");
  auto ranged = BeastGet("/items/ranged", ranged_headers);
  ASSERT_TRUE(stored && ranged);
  EXPECT_EQ(ranged->status, 200);
  EXPECT_EQ(ranged->body, stored->body);
  EXPECT_EQ(ranged->get_header_value("ETag"), larder::StrongEtagFor(ranged->body));
  EXPECT_FALSE(ranged->has_header("Content-Range"));
  EXPECT_EQ(ranged->get_header_value("Accept-Ranges"), "none");
}

class IfModifiedSinceE2eTest : public AdaptersE2eTest,
                               public ::testing::WithParamInterface<std::string> {};

TEST_P(IfModifiedSinceE2eTest, EveryHttpDateFormatRevalidatesThroughBothAdapters) {
  const std::string path = absl::StrCat("/items/ims-", GetParam().size());
  ::httplib::Headers conditional = kHost;
  conditional.emplace("If-Modified-Since", GetParam());
  ::httplib::Headers earlier = kHost;
  earlier.emplace("If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT");
  for (bool beast : {false, true}) {
    auto get = [&](const ::httplib::Headers& headers) {
      return beast ? BeastGet(path, headers) : HttplibGet(path, headers);
    };
    auto full = get(kHost);
    auto not_modified = get(conditional);
    auto modified = get(earlier);
    ASSERT_TRUE(full && not_modified && modified);
    EXPECT_EQ(full->status, 200);
    EXPECT_EQ(not_modified->status, 304) << GetParam() << (beast ? " via Beast" : " via httplib");
    EXPECT_EQ(not_modified->body, "");
    EXPECT_EQ(modified->status, 200);
    EXPECT_EQ(modified->body, full->body);
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc9110, IfModifiedSinceE2eTest,
                         ::testing::Values("Sun, 06 Nov 1994 08:49:37 GMT",
                                           "Sunday, 06-Nov-94 08:49:37 GMT",
                                           "Sun Nov  6 08:49:37 1994"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.index == 0   ? std::string("ImfFixdate")
                                  : info.index == 1 ? std::string("Rfc850")
                                                    : std::string("Asctime");
                         });

}  // namespace
}  // namespace larder::http::testing

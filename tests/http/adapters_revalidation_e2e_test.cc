// End-to-end: revalidation through each framework adapter (cpp-httplib, Boost.Beast) over real
// HTTP, caching in a real larderd. A stale stored response with an ETag is revalidated by running
// the route's own handler with the stored ETag in If-None-Match (RFC 9111 section 4.3.1); the
// handler answers 304 and the client gets the stored body. Freshness follows a FakeClock, so
// nothing sleeps; larderd keeps the entries in real time well past the test.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/beast/cached.h"
#include "larder/client.h"
#include "larder/http/larder_response_store.h"
#include "larder/httplib/cached.h"
#include "tests/http/beast_server.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/larderd_process.h"

namespace larder::http::testing {
namespace {

namespace bhttp = boost::beast::http;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kEtag[] = "\"v1\"";

// The document behind both routes: ETag "v1", a 304 to If-None-Match: "v1", else the full body.
// Records the If-None-Match values of every run.
class Document {
 public:
  // Returns the status to answer; `body` gets the full body on 200.
  int Answer(const std::string& id, std::vector<std::string> if_none_match, std::string& body) {
    const int render = ++renders_;
    const bool not_modified = if_none_match.size() == 1 && if_none_match[0] == kEtag;
    {
      absl::MutexLock lock(&mutex_);
      seen_.push_back(std::move(if_none_match));
    }
    if (not_modified) return 304;
    body = absl::StrCat("document ", id, " render ", render);
    return 200;
  }
  // The If-None-Match values of each run, in order.
  std::vector<std::vector<std::string>> seen() const {
    absl::MutexLock lock(&mutex_);
    return seen_;
  }

 private:
  std::atomic<int> renders_{0};
  mutable absl::Mutex mutex_;
  std::vector<std::vector<std::string>> seen_ ABSL_GUARDED_BY(mutex_);
};

// GetParam(): the adapter under test, "httplib" or "beast".
class AdaptersRevalidationE2eTest : public ::testing::TestWithParam<std::string> {
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
    client_ = std::move(*client);
  }
  static void TearDownTestSuite() {
    client_.reset();
    delete larderd_;
  }

  void SetUp() override {
    HttpCacheOptions options;
    options.clock = &clock_;
    auto cache = HttpCache::Create(NewLarderResponseStore(client_), options);
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = std::move(*cache);
    RoutePolicy policy;
    // A namespace per test and adapter ("Name/httplib"): entries of earlier tests stay in the
    // shared larderd.
    policy.cache_namespace = absl::StrCat(
        "reval-",
        absl::StrReplaceAll(::testing::UnitTest::GetInstance()->current_test_info()->name(),
                            {{"/", "-"}}));
    policy.ttl = kTtl;
    if (GetParam() == "httplib") {
      StartHttplib(policy);
    } else {
      beast_ = std::make_unique<BeastServer>(beast::Cached(*cache_, policy, BeastDocument()),
                                             beast::Cached(*cache_, policy, BeastDocument()));
    }
  }
  void TearDown() override {
    beast_.reset();
    if (httplib_thread_.joinable()) {
      httplib_.stop();
      httplib_thread_.join();
    }
    cache_.reset();
  }

  void StartHttplib(const RoutePolicy& policy) {
    httplib_.Get("/docs/(\\w+)",
                 larder::httplib::Cached(*cache_, policy, [this](const auto& req, auto& res) {
                   std::vector<std::string> if_none_match;
                   auto [begin, end] = req.headers.equal_range("If-None-Match");
                   for (auto it = begin; it != end; ++it) if_none_match.push_back(it->second);
                   std::string body;
                   res.status = document_.Answer(req.matches[1].str(), if_none_match, body);
                   res.set_header("ETag", kEtag);
                   if (res.status == 200) res.set_content(body, "text/plain");
                 }));
    httplib_port_ = larder::httplib::Bind(httplib_, "127.0.0.1", 0, {});
    ASSERT_GT(httplib_port_, 0);
    httplib_thread_ = std::thread([this] { httplib_.listen_after_bind(); });
    while (!httplib_.is_running()) std::this_thread::yield();
  }
  beast::Handler BeastDocument() {
    return [this](const beast::BeastRequest& request) {
      std::vector<std::string> if_none_match;
      auto [begin, end] = request.equal_range("If-None-Match");
      for (auto it = begin; it != end; ++it) if_none_match.emplace_back(it->value());
      std::string target(request.target());
      std::string body;
      const int status =
          document_.Answer(target.substr(target.rfind('/') + 1), if_none_match, body);
      beast::BeastResponse response{static_cast<bhttp::status>(status), request.version()};
      response.set(bhttp::field::etag, kEtag);
      if (status == 200) {
        response.set(bhttp::field::content_type, "text/plain");
        response.body() = body;
      }
      return response;
    };
  }

  ::httplib::Result Get(const std::string& target, const ::httplib::Headers& headers = {}) {
    const int port = GetParam() == "httplib" ? httplib_port_ : beast_->port();
    return ::httplib::Client("127.0.0.1", port).Get(target.c_str(), headers);
  }

  static constexpr absl::Duration kTtl = absl::Seconds(10);
  static larder::testing::LarderdProcess* larderd_;
  static std::shared_ptr<Client> client_;
  larder::testing::FakeClock clock_;
  std::unique_ptr<HttpCache> cache_;
  Document document_;
  ::httplib::Server httplib_;
  int httplib_port_ = 0;
  std::thread httplib_thread_;
  std::unique_ptr<BeastServer> beast_;
};

larder::testing::LarderdProcess* AdaptersRevalidationE2eTest::larderd_ = nullptr;
std::shared_ptr<Client> AdaptersRevalidationE2eTest::client_;

TEST_P(AdaptersRevalidationE2eTest, StaleResponseIsRevalidatedByTheHandlerAnswering304) {
  auto stored = Get("/docs/seven");
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->status, 200);
  EXPECT_EQ(stored->body, "document seven render 1");
  clock_.Advance(kTtl + absl::Seconds(1));

  auto revalidated = Get("/docs/seven");
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 200);
  EXPECT_EQ(revalidated->body, "document seven render 1");
  EXPECT_EQ(revalidated->get_header_value("ETag"), kEtag);
  EXPECT_THAT(revalidated->get_header_value("Cache-Status"), HasSubstr("detail=revalidated"));
  // The first run saw no validator; the second saw the stored ETag, once (and the captured id).
  EXPECT_THAT(document_.seen(),
              ElementsAre(std::vector<std::string>{}, std::vector<std::string>{kEtag}));

  auto hit = Get("/docs/seven");  // Freshened by the 304: a hit, without a run.
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->body, "document seven render 1");
  EXPECT_EQ(document_.seen().size(), 2u);
}

TEST_P(AdaptersRevalidationE2eTest, ClientIfNoneMatchIsReplacedByTheStoredEtag) {
  ASSERT_TRUE(Get("/docs/eight"));
  clock_.Advance(kTtl + absl::Seconds(1));

  // The client's own tag does not match: it must not reach the handler beside the stored one.
  auto revalidated = Get("/docs/eight", {{"If-None-Match", "\"client-tag\""}});
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 200);
  EXPECT_EQ(revalidated->body, "document eight render 1");
  EXPECT_THAT(revalidated->get_header_value("Cache-Status"), HasSubstr("detail=revalidated"));
  EXPECT_THAT(document_.seen(),
              ElementsAre(std::vector<std::string>{}, std::vector<std::string>{kEtag}));
}

INSTANTIATE_TEST_SUITE_P(Adapters, AdaptersRevalidationE2eTest,
                         ::testing::Values("httplib", "beast"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace larder::http::testing

#include "tests/http/shared_cache_e2e_fixture.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/http/larder_response_store.h"

namespace larder::http::testing {

larder::testing::LarderdProcess* SharedCacheE2eTest::larderd_ = nullptr;
std::shared_ptr<larder::Client> SharedCacheE2eTest::client_;

void SharedCacheE2eTest::SetUpTestSuite() {
  auto larderd = larder::testing::LarderdProcess::Start();
  ASSERT_TRUE(larderd.ok()) << larderd.status();
  larderd_ = std::move(*larderd).release();
  ClientOptions options;
  options.target = larderd_->grpc_address();
  options.deadline = absl::Seconds(2);
  auto client = larder::Client::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = *std::move(client);
}

void SharedCacheE2eTest::TearDownTestSuite() {
  client_.reset();
  delete larderd_;
  larderd_ = nullptr;
}

void SharedCacheE2eTest::SetUp() {
  ASSERT_NE(client_, nullptr);
  auto cache = HttpCache::Create(NewLarderResponseStore(client_));
  ASSERT_TRUE(cache.ok()) << cache.status();
  cache_ = *std::move(cache);
}

void SharedCacheE2eTest::TearDown() {
  if (server_ != nullptr) server_->stop();
  if (serving_.joinable()) serving_.join();
  server_.reset();
  cache_.reset();
}

RoutePolicy SharedCacheE2eTest::Policy(const std::string& name) const {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  RoutePolicy policy;
  policy.cache_namespace = absl::StrCat(name, "-", test->name()).substr(0, 60);
  policy.route = name;
  policy.ttl = absl::Seconds(60);
  return policy;
}

::httplib::Server::Handler SharedCacheE2eTest::Cached(const RoutePolicy& policy,
                                                      ::httplib::Server::Handler handler) {
  return larder::httplib::Cached(
      *cache_, policy,
      [this, handler = std::move(handler)](const ::httplib::Request& request,
                                           ::httplib::Response& response) {
        ++renders_;
        handler(request, response);
      });
}

void SharedCacheE2eTest::Serve(const std::function<void(::httplib::Server&)>& routes) {
  server_ = std::make_unique<::httplib::Server>();
  larder::httplib::ServerOptions options;
  options.threads = 8;
  larder::httplib::ConfigureServer(*server_, options);
  routes(*server_);
  port_ = larder::httplib::Bind(*server_, "127.0.0.1", 0, options);
  ASSERT_GT(port_, 0);
  serving_ = std::thread([this] { server_->listen_after_bind(); });
}

::httplib::Client SharedCacheE2eTest::Client() const {
  ::httplib::Client client("127.0.0.1", port_);
  client.set_keep_alive(false);
  return client;
}

::httplib::Result SharedCacheE2eTest::Get(const std::string& path,
                                          const ::httplib::Headers& headers) const {
  ::httplib::Result result = Client().Get(path, headers);
  EXPECT_TRUE(result) << path << ": " << ::httplib::to_string(result.error());
  return result;
}

void SharedCacheE2eTest::ServeUpstream(const RoutePolicy& policy, ::httplib::Headers headers) {
  Serve([&](::httplib::Server& server) {
    server.Get("/up",
               Cached(policy, [this, headers](const ::httplib::Request&, ::httplib::Response& r) {
                 if (upstream_failing_.load()) {
                   r.status = 503;
                   r.set_content("down", "text/plain");
                   return;
                 }
                 for (const auto& [name, value] : headers) r.set_header(name, value);
                 r.set_content(absl::StrCat("render ", renders()), "text/plain");
               }));
  });
}

RoutePolicy SharedCacheE2eTest::Upstream(const std::string& name) const {
  RoutePolicy policy = Policy(name);
  policy.freshness = FreshnessSource::kResponse;
  policy.ttl = absl::Hours(1);
  return policy;
}

}  // namespace larder::http::testing

// End-to-end: the example of docs/proxy.md, as its reader runs it. A real larderd, the FastAPI
// app examples/fastapi_proxy/app.py under uvicorn, and larder-proxy in front of it with
// examples/fastapi_proxy/routes.yaml. A miss, a hit, a client's 304, a purge by tag, a PUT
// invalidating its path, per-user /me never shared, and /renders never cached, each checked
// against the app's own render counter (GET /renders on the app directly). Skipped when
// /usr/bin/python3 cannot import fastapi and uvicorn (scripts/install-deps.sh installs them).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "nlohmann/json.hpp"
#include "tests/proxy/proxy_e2e_fixture.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;

// The system interpreter, where Debian's python3-fastapi and python3-uvicorn live: the python3
// on PATH may be another one (a pyenv shim) without them.
constexpr char kPython[] = "/usr/bin/python3";
constexpr char kAppDir[] = LARDER_FASTAPI_APP_DIR;

// The app under uvicorn on a free port, once it answers GET /renders (at most `timeout`).
absl::StatusOr<std::unique_ptr<ChildProcess>> StartApp(int* port, absl::Duration timeout) {
  absl::Status last = absl::UnknownError("not started");
  for (int attempt = 0; attempt < 3; ++attempt) {  // Another attempt when the port was taken.
    *port = PickFreePort();
    auto app =
        ChildProcess::Start({kPython, "-m", "uvicorn", "app:app", "--app-dir", kAppDir, "--host",
                             "127.0.0.1", "--port", absl::StrCat(*port), "--log-level", "warning"});
    if (!app.ok()) return app.status();
    const absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    while (absl::Now() < deadline && !(*app)->WaitForExit(absl::ZeroDuration(), &status)) {
      ::httplib::Client client("127.0.0.1", *port);
      client.set_connection_timeout(0, 200000);
      ::httplib::Result renders = client.Get("/renders");
      if (renders && renders->status == 200) return app;
      absl::SleepFor(absl::Milliseconds(50));
    }
    last = (*app)->running()
               ? absl::DeadlineExceededError(
                     absl::StrCat("uvicorn did not answer within ", absl::FormatDuration(timeout)))
               : absl::UnavailableError(absl::StrCat("uvicorn exited (wait status ", status,
                                                     "): ", (*app)->LogTail()));
    if ((*app)->running()) break;
  }
  return last;
}

class ProxyFastapiE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RunToExit({kPython, "-c", "import fastapi, uvicorn"}, absl::Seconds(15)).ok()) {
      skip_ = true;
      return;
    }
    auto larderd = LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = larderd->release();
    auto app = StartApp(&app_port_, absl::Seconds(15));
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = app->release();
    auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
        absl::StrCat("http://127.0.0.1:", app_port_), larderd_->grpc_address(), "",
        {absl::StrCat("--config=", kAppDir, "/routes.yaml"), "--larder-deadline=2s"}));
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = proxy->release();
    auto client = ConnectLarderClient(larderd_->grpc_address());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = new std::shared_ptr<Client>(*std::move(client));
  }
  static void TearDownTestSuite() {
    delete client_;
    delete proxy_;  // The proxy first, then what it stands between.
    delete app_;
    delete larderd_;
    client_ = nullptr;
    proxy_ = nullptr;
    app_ = nullptr;
    larderd_ = nullptr;
  }
  void SetUp() override {
    if (skip_) {
      GTEST_SKIP() << kPython << " cannot import fastapi and uvicorn (Debian: apt-get install "
                   << "python3-fastapi python3-uvicorn, as scripts/install-deps.sh does)";
    }
    ASSERT_NE(client_, nullptr);
    // Each test starts with nothing of the app's stored.
    ASSERT_TRUE((*client_)->Invalidate("items", InvalidateTarget::All()).ok());
  }

  static ::httplib::Result Get(const std::string& target, const ::httplib::Headers& headers = {}) {
    ::httplib::Result result = proxy_->Get(target, headers);
    EXPECT_TRUE(result) << target << ": " << ::httplib::to_string(result.error());
    return result;
  }
  // The X-Cache of a GET through the proxy.
  static std::string CacheOf(const std::string& target) {
    ::httplib::Result result = Get(target);
    return result ? result->get_header_value("X-Cache") : "<no response>";
  }
  // The app's count of `what` ("items" or "page") renders, asked of the app directly; -1 when
  // it does not answer.
  static int Renders(const std::string& what = "items") {
    ::httplib::Client client("127.0.0.1", app_port_);
    ::httplib::Result result = client.Get("/renders");
    if (!result || result->status != 200) return -1;
    const nlohmann::json counts = nlohmann::json::parse(result->body, nullptr, false);
    return counts.contains(what) ? counts[what].get<int>() : -1;
  }

  static inline bool skip_ = false;
  static inline LarderdProcess* larderd_ = nullptr;
  static inline ChildProcess* app_ = nullptr;
  static inline int app_port_ = 0;
  static inline ProxyProcess* proxy_ = nullptr;
  static inline std::shared_ptr<Client>* client_ = nullptr;
};

TEST_F(ProxyFastapiE2eTest, MissThenHitRendersOnceAndKeepsTheTagsFromTheClient) {
  const int before = Renders();
  auto miss = Get("/items/1");
  auto hit = Get("/items/1");
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(miss->status, 200);
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_THAT(miss->get_header_value("Cache-Status"), HasSubstr("stored"));
  EXPECT_EQ(miss->body, R"({"id": "1", "name": "tea"})");
  EXPECT_EQ(hit->status, 200);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_FALSE(miss->get_header_value("ETag").empty());
  EXPECT_EQ(hit->get_header_value("ETag"), miss->get_header_value("ETag"));
  EXPECT_EQ(hit->body, miss->body);
  for (const auto* response : {&*miss, &*hit}) {
    EXPECT_FALSE(response->has_header("Surrogate-Key"));
    EXPECT_THAT(response->get_header_value("Via"), HasSubstr("larder-proxy"));
  }
  EXPECT_EQ(Renders(), before + 1);
}

TEST_F(ProxyFastapiE2eTest, IfNoneMatchWithTheETagIsA304WithoutBodyOrRender) {
  auto first = Get("/items/1");
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  const int before = Renders();
  auto not_modified = Get("/items/1", {{"If-None-Match", etag}});
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  EXPECT_EQ(not_modified->get_header_value("ETag"), etag);
  EXPECT_EQ(not_modified->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(Renders(), before);
}

TEST_F(ProxyFastapiE2eTest, PurgingATagMissesItsItemOnly) {
  Get("/items/1");
  Get("/items/2");
  ASSERT_EQ(CacheOf("/items/1"), "HIT");
  ASSERT_EQ(CacheOf("/items/2"), "HIT");
  absl::StatusOr<int64_t> purged = (*client_)->Invalidate("items", InvalidateTarget::Tag("item-1"));
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);
  const int before = Renders();
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
  EXPECT_EQ(Renders(), before + 1);
  EXPECT_EQ(CacheOf("/items/1"), "HIT");
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
  EXPECT_EQ(Renders(), before + 1);
}

TEST_F(ProxyFastapiE2eTest, PutThroughTheProxyInvalidatesItsPath) {
  Get("/items/2");
  ASSERT_EQ(CacheOf("/items/2"), "HIT");
  ::httplib::Result put =
      proxy_->Client().Put("/items/2", R"({"name":"green tea"})", "application/json");
  ASSERT_TRUE(put) << ::httplib::to_string(put.error());
  EXPECT_EQ(put->status, 200);
  EXPECT_THAT(put->body, HasSubstr("green tea"));
  const int before = Renders();
  auto after = Get("/items/2");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(after->status, 200);
  const nlohmann::json item = nlohmann::json::parse(after->body, nullptr, false);
  EXPECT_EQ(item, nlohmann::json({{"id", "2"}, {"name", "green tea"}})) << after->body;
  EXPECT_EQ(Renders(), before + 1);
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
}

TEST_F(ProxyFastapiE2eTest, MeIsPerUserAndNeverStored) {
  for (int round = 0; round < 2; ++round) {
    for (const char* user : {"a", "b"}) {
      auto me = Get("/me", {{"Authorization", absl::StrCat("Bearer ", user)}});
      ASSERT_TRUE(me);
      EXPECT_EQ(me->status, 200);
      EXPECT_EQ(me->body, absl::StrCat(R"({"user": ")", user, R"("})")) << "round " << round;
      EXPECT_NE(me->get_header_value("X-Cache"), "HIT") << user << ", round " << round;
    }
  }
}

TEST_F(ProxyFastapiE2eTest, RendersIsNeverCached) {
  auto first = Get("/renders");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  // A render the proxy does not see: only a response fetched anew shows it.
  ASSERT_TRUE(::httplib::Client("127.0.0.1", app_port_).Get("/items/1"));
  auto second = Get("/renders");
  ASSERT_TRUE(second);
  EXPECT_NE(second->get_header_value("X-Cache"), "HIT");
  const nlohmann::json before = nlohmann::json::parse(first->body, nullptr, false);
  const nlohmann::json after = nlohmann::json::parse(second->body, nullptr, false);
  ASSERT_TRUE(before.contains("items") && after.contains("items")) << second->body;
  EXPECT_EQ(after["items"].get<int>(), before["items"].get<int>() + 1);
}

}  // namespace
}  // namespace larder::testing

// End-to-end: larder-proxy fails open. With larderd never started, killed, or frozen, requests
// are still answered by the upstream within a bounded time and the proxy stays ready; once
// larderd is back, caching resumes. With the upstream down, a stored response allowed to by
// stale-if-error is served stale, anything else is a 502; /metrics shows the requests and the
// upstream errors.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_e2e_fixture.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kRoutes[] = R"(routes:
  - name: sie
    prefix: /sie/
    stale_if_error: 60s
default:
  namespace: proxy-failopen-e2e
)";
constexpr char kLarderDeadline[] = "--larder-deadline=200ms";
// How long a request may take while larderd is away: a few larder calls at the deadline each,
// and the upstream's answer.
constexpr absl::Duration kAnswerBound = absl::Seconds(2);

class ProxyFailOpenE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    larderd_port_ = PickFreePort();
    StartLarderd();
    auto upstream = UpstreamProcess::Start();
    ASSERT_TRUE(upstream.ok()) << upstream.status();
    upstream_ = upstream->release();
    auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
        upstream_->url(), absl::StrCat("127.0.0.1:", larderd_port_), kRoutes, {kLarderDeadline}));
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = proxy->release();
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete upstream_;
    delete larderd_;
    proxy_ = nullptr;
    upstream_ = nullptr;
    larderd_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(proxy_, nullptr); }
  // Leaves larderd and the upstream running for the next test, whatever this one did.
  void TearDown() override {
    if (larderd_ == nullptr || !larderd_->running()) StartLarderd();
    if (upstream_ != nullptr && !upstream_->process().running()) RestartUpstream();
  }

  // A new larderd (empty) on the suite's larderd address, the one the proxy was given.
  static void StartLarderd() {
    delete larderd_;
    larderd_ = nullptr;
    auto larderd = ChildProcess::Start({LarderdBinaryPath(),
                                        absl::StrCat("--listen=127.0.0.1:", larderd_port_),
                                        "--metrics-address=127.0.0.1:0"});
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    absl::StatusOr<std::string> ready = (*larderd)->WaitForLine("larderd ready", absl::Seconds(30));
    ASSERT_TRUE(ready.ok()) << ready.status();
    larderd_ = larderd->release();
  }
  // A new upstream on the suite's upstream port.
  static void RestartUpstream() {
    const int port = upstream_->port();
    delete upstream_;
    upstream_ = nullptr;
    auto upstream = UpstreamProcess::Start(port);
    ASSERT_TRUE(upstream.ok()) << upstream.status();
    upstream_ = upstream->release();
  }
  // GET through `proxy`, expected to answer within kAnswerBound.
  static ::httplib::Result TimedGet(ProxyProcess& proxy, const std::string& target) {
    const absl::Time start = absl::Now();
    ::httplib::Result result = proxy.Get(target);
    EXPECT_LT(absl::Now() - start, kAnswerBound) << target;
    EXPECT_TRUE(result) << target << ": " << ::httplib::to_string(result.error());
    return result;
  }
  static std::string CacheOf(const std::string& target) {
    ::httplib::Result result = TimedGet(*proxy_, target);
    return result ? result->get_header_value("X-Cache") : "<no response>";
  }
  static int Readyz(ProxyProcess& proxy) {
    ::httplib::Result result = proxy.AdminGet("/readyz");
    return result ? result->status : -1;
  }

  static inline int larderd_port_ = 0;
  static inline ChildProcess* larderd_ = nullptr;
  static inline UpstreamProcess* upstream_ = nullptr;
  static inline ProxyProcess* proxy_ = nullptr;
};

TEST_F(ProxyFailOpenE2eTest, LarderdNeverStartedRequestsAreAnsweredByTheUpstream) {
  auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
      upstream_->url(), absl::StrCat("127.0.0.1:", PickFreePort()), kRoutes, {kLarderDeadline}));
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  for (int request = 1; request <= 3; ++request) {
    ::httplib::Result result = TimedGet(**proxy, target);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, absl::StrCat(path, " render ", request));
    EXPECT_EQ(result->get_header_value("X-Cache"), "MISS");
    EXPECT_THAT(result->get_header_value("Cache-Status"), HasSubstr("store-unavailable"));
  }
  EXPECT_EQ(Readyz(**proxy), 200);
  EXPECT_EQ((*proxy)->Metric("larder_proxy_requests_total", {{"method", "GET"}}), 3);
}

TEST_F(ProxyFailOpenE2eTest, LarderdKilledThenBackCachingResumes) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  CacheOf(target);
  ASSERT_EQ(CacheOf(target), "HIT");
  larderd_->Kill();
  ::httplib::Result during = TimedGet(*proxy_, target);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->status, 200);
  EXPECT_EQ(during->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(Readyz(*proxy_), 200);  // larderd away does not make the proxy unready.

  StartLarderd();
  const absl::Time deadline = absl::Now() + absl::Seconds(12);
  bool hit = false;
  while (!hit && absl::Now() < deadline) {
    hit = CacheOf(target) == "HIT";
    if (!hit) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(hit) << "no hit within 12 s of larderd's restart";
}

TEST_F(ProxyFailOpenE2eTest, LarderdFrozenRequestsAreAnsweredWithinTheDeadline) {
  const std::string path = PathOf("/d/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  CacheOf(target);
  ASSERT_TRUE(larderd_->Pause().ok());
  ::httplib::Result during = TimedGet(*proxy_, target);
  ::httplib::Result other = TimedGet(*proxy_, PathOf("/d/", "/other"));
  ASSERT_TRUE(larderd_->Resume().ok());
  ASSERT_TRUE(during && other);
  EXPECT_EQ(during->status, 200);
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(Readyz(*proxy_), 200);
}

TEST_F(ProxyFailOpenE2eTest, UpstreamDownServesStaleIfErrorResponsesElse502) {
  ProxyProcess& proxy = *proxy_;
  const std::string by_response =
      UpstreamTarget(PathOf("/d/", "/response"), {{"cc", "max-age=2, stale-if-error=60"}});
  const std::string by_route = UpstreamTarget(PathOf("/sie/"), {{"cc", "max-age=2"}});
  const std::string plain = UpstreamTarget(PathOf("/d/", "/plain"), {{"cc", "max-age=2"}});
  for (const std::string& target : {by_response, by_route, plain}) CacheOf(target);
  const double connect_errors =
      proxy.Metric("larder_proxy_upstream_errors_total", {{"reason", "connect"}});
  const double stale = proxy.Metric("larder_proxy_requests_total", {{"cache", "stale"}});
  const double requests = proxy.Metric("larder_proxy_requests_total");
  upstream_->Stop();
  std::this_thread::sleep_for(kPastTwoSeconds);

  for (const std::string& target : {by_response, by_route}) {
    ::httplib::Result result = TimedGet(proxy, target);
    ASSERT_TRUE(result) << target;
    EXPECT_EQ(result->status, 200) << target;
    EXPECT_EQ(result->get_header_value("X-Cache"), "STALE") << target;
    EXPECT_THAT(result->get_header_value("Cache-Status"), HasSubstr("stale-if-error")) << target;
    EXPECT_THAT(result->body, HasSubstr(" render 1")) << target;
  }
  ::httplib::Result failed = TimedGet(proxy, plain);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 502);
  EXPECT_EQ(failed->body, "upstream unavailable\n");

  EXPECT_GE(proxy.Metric("larder_proxy_upstream_errors_total", {{"reason", "connect"}}),
            connect_errors + 3);
  EXPECT_EQ(proxy.Metric("larder_proxy_requests_total", {{"cache", "stale"}}), stale + 2);
  EXPECT_EQ(proxy.Metric("larder_proxy_requests_total"), requests + 3);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (Readyz(proxy) == 200 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_NE(Readyz(proxy), 200) << "still ready 5 s after the upstream went down";

  RestartUpstream();
  ::httplib::Result back = TimedGet(proxy, plain);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200);
}

}  // namespace
}  // namespace larder::testing

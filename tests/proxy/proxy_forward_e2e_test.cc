// End-to-end: larder-proxy as a plain reverse proxy, between a real client and a real upstream
// (tests/proxy/upstream_server.py), caching in a real larderd. What reaches the upstream and what
// comes back: headers both ways (hop-by-hop removed, Via, X-Forwarded-*), the raw request
// target, every method, bodies byte for byte, the size and time limits, an upstream that is
// down, and the start-up errors of bad flags and bad configs.
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The request as upstream_server.py's /echo saw it.
struct Echo {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Every value of `name` (case-insensitive) joined by ", "; nullopt when absent.
  std::optional<std::string> Header(const std::string& name) const {
    std::vector<std::string> values;
    for (const auto& [header, value] : headers) {
      if (absl::EqualsIgnoreCase(header, name)) values.push_back(value);
    }
    if (values.empty()) return std::nullopt;
    return absl::StrJoin(values, ", ");
  }
};

Echo ParseEcho(const std::string& json_text) {
  Echo echo;
  const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    ADD_FAILURE() << "not an echo: " << json_text.substr(0, 200);
    return echo;
  }
  echo.method = json.value("method", "");
  echo.target = json.value("target", "");
  echo.body = json.value("body", "");
  for (const auto& pair : json["headers"]) echo.headers.emplace_back(pair[0], pair[1]);
  return echo;
}

// A raw HTTP/1.1 response: status, headers (names lower-cased), body (Content-Length framed).
struct RawResponse {
  int status = 0;
  std::multimap<std::string, std::string> headers;
  std::string body;
};

RawResponse ParseRaw(const std::string& bytes) {
  RawResponse response;
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return response;
  std::vector<std::string> lines = absl::StrSplit(bytes.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() >= 2) response.status = std::atoi(status_line[1].c_str());
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers.emplace(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  response.body = bytes.substr(end + 4);
  return response;
}

constexpr char kMaxRequestBody[] = "--max-request-body=1MiB";
constexpr size_t kRequestLimit = size_t{1} << 20;
constexpr char kMaxResponseBody[] = "--max-response-body=2MiB";
constexpr size_t kResponseLimit = size_t{2} << 20;

class ProxyForwardE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = ProxyStack::Start(
        "", {kMaxRequestBody, kMaxResponseBody, "--upstream-timeout=1s", "--larder-deadline=2s"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    larderd_ = stack_->larderd.get();
    upstream_ = stack_->upstream.get();
    proxy_ = stack_->proxy.get();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(proxy_, nullptr); }

  // Sends `head` (request line and headers, no blank line) with "Connection: close" and `body`.
  static RawResponse Raw(const std::string& head, const std::string& body = "") {
    std::string request = absl::StrCat(head, "\r\nConnection: close\r\n");
    if (!body.empty()) absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
    absl::StrAppend(&request, "\r\n", body);
    absl::StatusOr<std::string> bytes = SendRaw(proxy_->port(), request);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? ParseRaw(*bytes) : RawResponse{};
  }

  static inline ProxyStack* stack_ = nullptr;
  static inline LarderdProcess* larderd_ = nullptr;
  static inline UpstreamProcess* upstream_ = nullptr;
  static inline ProxyProcess* proxy_ = nullptr;
};

TEST_F(ProxyForwardE2eTest, RequestHeadersReachTheUpstreamWithoutHopByHopOnes) {
  RawResponse response =
      Raw("GET /echo/request-headers HTTP/1.1\r\nHost: shop.example:8443\r\n"
          "Connection: X-Drop-Me, close\r\nX-Drop-Me: secret\r\nKeep-Alive: timeout=77\r\n"
          "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\nTE: trailers\r\n"
          "Upgrade: websocket\r\nX-Keep: kept\r\nUser-Agent: raw-test/1\r\nVia: 1.0 corp-proxy\r\n"
          "X-Forwarded-For: 10.0.0.1");
  ASSERT_EQ(response.status, 200) << response.body;
  const Echo echo = ParseEcho(response.body);
  for (const char* dropped :
       {"X-Drop-Me", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "TE", "Upgrade"}) {
    EXPECT_EQ(echo.Header(dropped), std::nullopt) << dropped;
  }
  EXPECT_THAT(echo.Header("Connection").value_or(""), Not(HasSubstr("X-Drop-Me")));
  EXPECT_EQ(echo.Header("Host"), "shop.example:8443");
  EXPECT_EQ(echo.Header("X-Keep"), "kept");
  EXPECT_EQ(echo.Header("User-Agent"), "raw-test/1");
  EXPECT_EQ(echo.Header("Via"), "1.0 corp-proxy, 1.1 larder-proxy");
  EXPECT_EQ(echo.Header("X-Forwarded-For"), "10.0.0.1, 127.0.0.1");
  EXPECT_EQ(echo.Header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(echo.Header("X-Forwarded-Host"), "shop.example:8443");
  EXPECT_EQ(echo.Header("Accept-Encoding"), std::nullopt);  // The proxy asks for no compression.
}

TEST_F(ProxyForwardE2eTest, ForwardedHeadersAreSetOnlyWhenAbsent) {
  ::httplib::Result result = proxy_->Get(
      "/echo/forwarded", {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "www.example"}});
  ASSERT_TRUE(result);
  const Echo echo = ParseEcho(result->body);
  EXPECT_EQ(echo.Header("X-Forwarded-Proto"), "https");
  EXPECT_EQ(echo.Header("X-Forwarded-Host"), "www.example");
  EXPECT_EQ(echo.Header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(echo.Header("Host"), proxy_->address());
}

TEST_F(ProxyForwardE2eTest, ResponseHeadersComeBackWithoutHopByHopOnes) {
  const std::string target =
      UpstreamTarget("/h/response-headers", {{"cc", "max-age=60"},
                                             {"header", "Connection: X-Secret"},
                                             {"header", "X-Secret: 1"},
                                             {"header", "Keep-Alive: timeout=77"},
                                             {"header", "Proxy-Authenticate: Basic"},
                                             {"header", "Trailer: X-T"},
                                             {"header", "Upgrade: h2c"},
                                             {"header", "X-Public: yes"}});
  for (const char* pass : {"MISS", "HIT"}) {
    ::httplib::Result result = proxy_->Get(target);
    ASSERT_TRUE(result) << pass;
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("X-Cache"), pass);
    EXPECT_EQ(result->get_header_value("X-Public"), "yes");
    EXPECT_EQ(result->get_header_value("Cache-Control"), "max-age=60");
    for (const char* dropped : {"X-Secret", "Proxy-Authenticate", "Trailer", "Upgrade"}) {
      EXPECT_FALSE(result->has_header(dropped)) << pass << ": " << dropped;
    }
    EXPECT_NE(result->get_header_value("Keep-Alive"), "timeout=77") << pass;
    EXPECT_THAT(result->get_header_value("Connection"), Not(HasSubstr("X-Secret"))) << pass;
    EXPECT_THAT(result->get_header_value("Via"), HasSubstr("1.1 larder-proxy")) << pass;
    EXPECT_EQ(result->body, "/h/response-headers render 1") << pass;
  }
}

TEST_F(ProxyForwardE2eTest, RawTargetIsForwardedAsReceived) {
  const std::string target = "/echo/raw/a%2Fb/%7Euser/sp%20ace;p=1?q=a%20b&q=c+d&amp=%26&e=&flag";
  RawResponse get = Raw(absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: raw.example"));
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(ParseEcho(get.body).target, target);
  RawResponse post = Raw(absl::StrCat("POST ", target, " HTTP/1.1\r\nHost: raw.example"), "x");
  ASSERT_EQ(post.status, 200) << post.body;
  EXPECT_EQ(ParseEcho(post.body).target, target);
}

TEST_F(ProxyForwardE2eTest, EveryMethodReachesTheUpstreamWithItsBody) {
  ::httplib::Client client = proxy_->Client();
  const std::string body = "payload \x01\x02 of the method";
  std::vector<std::pair<std::string, ::httplib::Result>> results;
  results.emplace_back("GET", client.Get("/echo/method/get"));
  results.emplace_back("POST", client.Post("/echo/method/post", body, "text/plain"));
  results.emplace_back("PUT", client.Put("/echo/method/put", body, "text/plain"));
  results.emplace_back("PATCH", client.Patch("/echo/method/patch", body, "text/plain"));
  results.emplace_back("DELETE", client.Delete("/echo/method/delete", body, "text/plain"));
  results.emplace_back("OPTIONS", client.Options("/echo/method/options"));
  for (auto& [method, result] : results) {
    ASSERT_TRUE(result) << method << ": " << ::httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200) << method;
    const Echo echo = ParseEcho(result->body);
    EXPECT_EQ(echo.method, method);
    const bool with_body = method != "GET" && method != "OPTIONS";
    EXPECT_EQ(echo.body, with_body ? body : "") << method;
  }
  ::httplib::Result head = client.Head("/echo/method/head");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  // On a cached route the proxy may ask for GET (as Varnish does) and drop the body itself.
  EXPECT_EQ(upstream_->Renders("/echo/method/head"), 1);
  EXPECT_NE(head->get_header_value("Content-Length"), "0");
}

TEST_F(ProxyForwardE2eTest, BinaryBodiesAreByteExactBothWays) {
  std::string request_body(kRequestLimit, '\0');  // Exactly the limit: accepted.
  for (size_t i = 0; i < request_body.size(); ++i) {
    request_body[i] = static_cast<char>((i * 131 + i / 256) % 256);
  }
  ::httplib::Result mirrored =
      proxy_->Client().Post("/mirror/binary", request_body, "application/octet-stream");
  ASSERT_TRUE(mirrored) << ::httplib::to_string(mirrored.error());
  EXPECT_EQ(mirrored->status, 200);
  EXPECT_TRUE(mirrored->body == request_body) << "mirrored " << mirrored->body.size() << " bytes";

  const std::string target = UpstreamTarget(
      "/h/binary", {{"bytes", std::to_string(kResponseLimit)}, {"cc", "max-age=60"}});
  const std::string expected = UpstreamBytes(kResponseLimit);
  for (const char* pass : {"MISS", "HIT"}) {
    ::httplib::Result result = proxy_->Get(target);
    ASSERT_TRUE(result) << pass;
    EXPECT_EQ(result->status, 200) << pass;
    EXPECT_EQ(result->get_header_value("X-Cache"), pass);
    EXPECT_TRUE(result->body == expected) << pass << ": " << result->body.size() << " bytes";
  }
  EXPECT_EQ(upstream_->Renders("/h/binary"), 1);
}

TEST_F(ProxyForwardE2eTest, RequestOverTheBodyLimitIs413AndNeverReachesTheUpstream) {
  // Announced too big: refused from the headers alone, without waiting for the body.
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> announced =
      SendRaw(proxy_->port(),
              absl::StrCat("POST /echo/too-big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                           "Content-Length: ", kRequestLimit + 1, "\r\n\r\npartial"),
              absl::Seconds(10));
  ASSERT_TRUE(announced.ok()) << announced.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "the 413 waited for the announced body";
  const RawResponse refused = ParseRaw(*announced);
  EXPECT_EQ(refused.status, 413);
  EXPECT_LT(refused.body.size(), 200u);
  // Sent in full (the proxy may close before reading it all: then no response).
  ::httplib::Result sent = proxy_->Client().Post(
      "/echo/too-big", std::string(kRequestLimit + 1, 'x'), "application/octet-stream");
  if (sent) {
    EXPECT_EQ(sent->status, 413);
  }
  EXPECT_EQ(upstream_->Renders("/echo/too-big"), 0);
  EXPECT_GE(proxy_->Metric("larder_proxy_request_body_refused_total"), 1);
}

TEST_F(ProxyForwardE2eTest, ResponseOverTheBodyLimitIs502) {
  const double before =
      proxy_->Metric("larder_proxy_upstream_errors_total", {{"reason", "too_large"}});
  ::httplib::Result result =
      proxy_->Get(UpstreamTarget("/h/huge", {{"bytes", std::to_string(kResponseLimit + 1)}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 502);
  EXPECT_LT(result->body.size(), 200u);
  EXPECT_EQ(proxy_->Metric("larder_proxy_upstream_errors_total", {{"reason", "too_large"}}),
            before + 1);
}

TEST_F(ProxyForwardE2eTest, UpstreamSlowerThanTheTimeoutIs504) {
  const absl::Time start = absl::Now();
  ::httplib::Result get = proxy_->Get("/slow/get?delay_ms=2500");
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 504);
  EXPECT_EQ(get->body, "upstream timed out\n");
  EXPECT_LT(took, absl::Milliseconds(2300));
  ::httplib::Result post = proxy_->Client().Post("/slow/post?delay_ms=2500", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 504);
  EXPECT_GE(proxy_->Metric("larder_proxy_upstream_errors_total", {{"reason", "timeout"}}), 2);
}

TEST_F(ProxyForwardE2eTest, UpstreamDownIs502WithAShortBody) {
  auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
      absl::StrCat("http://127.0.0.1:", PickFreePort()), larderd_->grpc_address()));
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const absl::Time start = absl::Now();
  for (const std::string method : {"GET", "POST"}) {
    ::httplib::Result result =
        method == "GET" ? (*proxy)->Get("/down") : (*proxy)->Client().Post("/down", "x", "a/b");
    ASSERT_TRUE(result) << method;
    EXPECT_EQ(result->status, 502) << method;
    EXPECT_EQ(result->body, "upstream unavailable\n") << method;
    EXPECT_THAT(result->get_header_value("Content-Type"), HasSubstr("text/plain"));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_GE((*proxy)->Metric("larder_proxy_upstream_errors_total", {{"reason", "connect"}}), 2);
}

TEST_F(ProxyForwardE2eTest, UpstreamDroppingTheConnectionIs502) {
  const double before =
      proxy_->Metric("larder_proxy_upstream_errors_total", {{"reason", "protocol"}});
  for (const std::string target : {"/close/at-once", "/close/mid-body?partial=1"}) {
    ::httplib::Result result = proxy_->Get(target);
    ASSERT_TRUE(result) << target;
    EXPECT_EQ(result->status, 502) << target;
    EXPECT_EQ(result->body, "upstream unavailable\n") << target;
  }
  EXPECT_EQ(proxy_->Metric("larder_proxy_upstream_errors_total", {{"reason", "protocol"}}),
            before + 2);
}

TEST_F(ProxyForwardE2eTest, SigtermFinishesRequestsInFlightAndExitsZero) {
  auto proxy =
      ProxyProcess::Start(ProxyProcessOptionsFor(upstream_->url(), larderd_->grpc_address()));
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  int in_flight_status = 0;
  std::string in_flight_body;
  std::thread client([&] {
    ::httplib::Result result = (*proxy)->Get("/slow/in-flight?delay_ms=800");
    in_flight_status = result ? result->status : -1;
    in_flight_body = result ? result->body : ::httplib::to_string(result.error());
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (upstream_->Renders("/slow/in-flight") < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const int status = (*proxy)->Stop();
  client.join();
  EXPECT_EQ(in_flight_status, 200);
  EXPECT_EQ(in_flight_body, "/slow/in-flight render 1");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

// The one line a failed start printed, after checking that it failed and printed one line.
std::string FailedStartLine(const std::vector<std::string>& args,
                            const std::vector<std::string>& env = {}) {
  absl::StatusOr<ProxyExit> exit = RunProxyToExit(args, env, absl::Seconds(5));
  EXPECT_TRUE(exit.ok()) << exit.status();
  if (!exit.ok()) return "";
  EXPECT_NE(exit->exit_code, 0);
  const std::string text(absl::StripAsciiWhitespace(exit->standard_error));
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), std::string::npos) << "more than one line:\n" << text;
  return text;
}

TEST_F(ProxyForwardE2eTest, BadFlagsExitWithOneLineNamingTheFlag) {
  const std::string larder = absl::StrCat("--larder=", larderd_->grpc_address());
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", PickFreePort());
  const std::string upstream = absl::StrCat("--upstream=", upstream_->url());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--upstream=ftp://127.0.0.1:21", "upstream"},
      {"--upstream=http://127.0.0.1:8000/some/path", "upstream"},
      {"--max-request-body=lots", "max-request-body"},
      {"--upstream-timeout=forever", "upstream-timeout"},
      {"--listen=nowhere", "listen"},
      {"--no-such-flag=1", "no-such-flag"},
  };
  for (const auto& [flag, named] : cases) {
    EXPECT_THAT(FailedStartLine({listen, upstream, larder, "--admin-listen=", flag}),
                HasSubstr(named))
        << flag;
  }
  EXPECT_THAT(FailedStartLine({listen, larder, "--admin-listen="},
                              {"LARDER_PROXY_UPSTREAM=gopher://127.0.0.1:70"}),
              HasSubstr("LARDER_PROXY_UPSTREAM"));
}

TEST_F(ProxyForwardE2eTest, BadConfigExitsWithOneLineNamingTheFileAndField) {
  const std::string dir = MakeTempDir("proxy-bad-config");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"routes:\n  - prefix: /a/\n    max_ttl: 10 minutes\n", "max_ttl"},
      {"routes:\n  - prefix: /a/\n    max_tll: 10m\n", "max_tll"},
      {"routes:\n  - prefix: /a/\n    regex: ^/a$\n", "regex"},
      {"routes: [\n", "routes.yaml"},
  };
  for (const auto& [yaml, named] : cases) {
    const std::string path = dir + "/routes.yaml";
    std::ofstream(path) << yaml;
    const std::string line =
        FailedStartLine({absl::StrCat("--listen=127.0.0.1:", PickFreePort()),
                         "--admin-listen=", absl::StrCat("--upstream=", upstream_->url()),
                         absl::StrCat("--larder=", larderd_->grpc_address()), "--config=" + path});
    EXPECT_THAT(line, HasSubstr(named)) << yaml;
    EXPECT_THAT(line, HasSubstr("routes.yaml")) << yaml;
  }
  EXPECT_THAT(FailedStartLine({absl::StrCat("--listen=127.0.0.1:", PickFreePort()),
                               "--admin-listen=", "--config=" + dir + "/missing.yaml",
                               absl::StrCat("--upstream=", upstream_->url())}),
              HasSubstr("missing.yaml"));
  RemoveTree(dir);
}

}  // namespace
}  // namespace larder::testing

// The Grafana dashboard against a real Prometheus scraping real processes: a memory-engine
// larderd and two larderd replicas sharing one redis-server, and (when built) two larder-proxies.
// A known workload (30 hits, 10 misses) must show up as a 75% hit ratio, the shared Redis
// store's entries must be counted once, not once per replica, and every panel's PromQL must
// return data once variables are substituted.
#include <httplib.h>

#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/testing/larderd_process.h"
#include "tests/testing/prometheus_process.h"
#include "tests/testing/proxy_process.h"
#include "tests/testing/redis_server.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdProcess;
using ::larder::testing::PrometheusProcess;
using ::larder::testing::ProxyProcess;
using ::larder::testing::ProxyProcessOptionsFor;
using ::larder::testing::RedisServerProcess;
using ::larder::testing::UpstreamProcess;

// Entries the workload stores through the first Redis replica (namespace "shared").
constexpr int kSharedEntries = 5;

struct PanelQuery {
  std::string panel;
  std::string expr;
};

// Every target expression of every panel (rows included), with Grafana variables replaced.
std::vector<PanelQuery> DashboardQueries() {
  std::ifstream file(LARDER_DASHBOARD_PATH);
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json dashboard = nlohmann::json::parse(text.str());
  std::vector<PanelQuery> queries;
  std::vector<nlohmann::json> panels = dashboard.at("panels");
  for (size_t i = 0; i < panels.size(); ++i) {
    for (const auto& nested : panels[i].value("panels", nlohmann::json::array())) {
      panels.push_back(nested);
    }
    for (const auto& target : panels[i].value("targets", nlohmann::json::array())) {
      const std::string expr =
          absl::StrReplaceAll(target.value("expr", ""), {{"$namespace", ".*"},
                                                         {"$instance", ".*"},
                                                         {"$proxy", ".*"},
                                                         {"$__rate_interval", "1m"}});
      queries.push_back(PanelQuery{panels[i].value("title", ""), expr});
    }
  }
  return queries;
}

bool UsesProxyMetrics(const std::string& expr) {
  return expr.find("larder_proxy_") != std::string::npos;
}
bool UsesOnlyServerMetrics(const std::string& expr) {
  return expr.find("larder_client_") == std::string::npos &&
         expr.find("larder_http_") == std::string::npos && !UsesProxyMetrics(expr);
}
bool UsesClientMetrics(const std::string& expr) {
  return !UsesOnlyServerMetrics(expr) && !UsesProxyMetrics(expr);
}

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto larderd = LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = larderd->release();
    StartRedisReplicas();
    std::map<std::string, std::vector<std::string>> jobs = {
        {"larderd",
         {larderd_->metrics_address(), replicas_[0]->metrics_address(),
          replicas_[1]->metrics_address()}}};
#ifdef LARDER_HTTP_SERVICE_PATH
    StartHttpService();
    jobs["http"] = {"127.0.0.1:" + std::to_string(http_port_)};
#endif
#ifdef LARDER_DASHBOARD_PROXY
    StartProxies();
    for (ProxyProcess* proxy : proxies_) {
      jobs["larder-proxy"].push_back("127.0.0.1:" + std::to_string(proxy->admin_port()));
    }
#endif
    auto prometheus = PrometheusProcess::Start(jobs);
    ASSERT_TRUE(prometheus.ok()) << prometheus.status();
    prometheus_ = prometheus->release();
    RunWorkload();
    RunSharedWorkload();
#ifdef LARDER_HTTP_SERVICE_PATH
    RunHttpWorkload();
#endif
#ifdef LARDER_DASHBOARD_PROXY
    RunProxyWorkload();
#endif
  }
  static void TearDownTestSuite() {
    delete prometheus_;
#ifdef LARDER_DASHBOARD_PROXY
    for (ProxyProcess*& proxy : proxies_) delete proxy;
    delete upstream_;
#endif
    delete http_service_;
    delete larderd_;
    for (LarderdProcess*& replica : replicas_) delete replica;
    delete redis_;
  }

  // Two larderd replicas of the Redis engine on one redis-server: one shared store.
  static void StartRedisReplicas() {
    auto redis = RedisServerProcess::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    for (LarderdProcess*& replica : replicas_) {
      // Fresh engine figures at every scrape (the Redis default reuses them for 30 s).
      auto started = LarderdProcess::Start(
          {"--engine=redis", "--redis-url=" + redis_->url(), "--metrics-engine-stats-max-age=0s"});
      ASSERT_TRUE(started.ok()) << started.status();
      replica = started->release();
    }
  }

  // kSharedEntries entries through the first replica; once both replicas' scrapes show them,
  // each replica reports the same store holding them.
  static void RunSharedWorkload() {
    auto stub = v1::Cache::NewStub(replicas_[0]->channel());
    for (int i = 0; i < kSharedEntries; ++i) Store(*stub, "shared" + std::to_string(i), "shared");
    ASSERT_TRUE(
        prometheus_
            ->WaitForValue("count(larder_entries == " + std::to_string(kSharedEntries) + ")", 2,
                           absl::Seconds(30))
            .ok());
  }

#ifdef LARDER_HTTP_SERVICE_PATH
  // The example service (examples/httplib_service), caching in this larderd, with a near cache
  // so that its Watch stream and near-cache lookups feed the "Near cache & Watch" panels.
  static void StartHttpService() {
    auto service = ChildProcess::Start(
        {LARDER_HTTP_SERVICE_PATH, "--port=0", "--larder=" + larderd_->grpc_address(),
         // A loaded machine must not turn hits into fail-open misses.
         "--larder_deadline=5s", "--near_cache_bytes=1048576"});
    ASSERT_TRUE(service.ok()) << service.status();
    http_service_ = service->release();
    auto line = http_service_->WaitForLine("ready port=", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    ASSERT_TRUE(absl::SimpleAtoi(line->substr(line->rfind('=') + 1), &http_port_)) << *line;
  }

  // A first request of each kind (miss, hit, not_modified) creates its series; once scraped,
  // the counted workload on namespace "items": 6 hits and 2 misses.
  static void RunHttpWorkload() {
    httplib::Client http("127.0.0.1", http_port_);
    ASSERT_TRUE(http.Get("/items/1"));  // miss
    ASSERT_TRUE(http.Get("/items/1"));  // hit
    auto first = http.Get("/items/1");
    ASSERT_TRUE(first);
    ASSERT_TRUE(http.Get("/items/1", {{"If-None-Match", first->get_header_value("ETag")}}));
    ASSERT_TRUE(
        prometheus_->WaitForValue("count(larder_http_responses_total)", 3, absl::Seconds(30)).ok());
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(http.Get("/items/1"));
    for (const char* path : {"/items/2", "/items/3"}) ASSERT_TRUE(http.Get(path));
    ASSERT_TRUE(
        prometheus_
            ->WaitForValue("sum(larder_http_responses_total{cache=\"hit\"})", 8, absl::Seconds(30))
            .ok());
    ASSERT_TRUE(
        prometheus_
            ->WaitForValue("sum(larder_http_responses_total{cache=\"miss\"})", 3, absl::Seconds(30))
            .ok());
  }

#endif

#ifdef LARDER_DASHBOARD_PROXY
  // Two larder-proxies in front of the scriptable upstream: one caching in the memory larderd,
  // one whose larder (port 1) refuses connections, so that its lookups fail open.
  static void StartProxies() {
    auto upstream = UpstreamProcess::Start();
    ASSERT_TRUE(upstream.ok()) << upstream.status();
    upstream_ = upstream->release();
    const std::string larders[2] = {larderd_->grpc_address(), "127.0.0.1:1"};
    for (int i = 0; i < 2; ++i) {
      auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(upstream_->url(), larders[i]));
      ASSERT_TRUE(proxy.ok()) << proxy.status();
      proxies_[i] = proxy->release();
    }
  }

  // Through the first proxy a miss, hits and an upstream dropping the connection (reason
  // "protocol"); through the second a fail-open lookup. A first round creates the series (rate()
  // ignores a series' first value); once it is scraped, a second one makes the rates positive.
  static void RunProxyWorkload() {
    for (int round = 1; round <= 2; ++round) {
      for (int i = 0; i < 2; ++i) ASSERT_TRUE(proxies_[0]->Get("/page?cc=max-age%3D60"));
      ASSERT_TRUE(proxies_[0]->Get("/close"));
      ASSERT_TRUE(proxies_[1]->Get("/page?cc=max-age%3D60"));
      for (const char* last : {"sum(larder_proxy_requests_total{cache=\"error\"})",
                               "sum(larder_client_lookup_errors_total)"}) {
        ASSERT_TRUE(prometheus_->WaitForValue(last, round, absl::Seconds(30)).ok()) << last;
      }
    }
  }
#endif

  // Storing creates the namespace's counters at zero (rate() ignores a series' first value);
  // once Prometheus has scraped them: 30 hits, 10 misses and one rejected request.
  static void RunWorkload() {
    auto stub = v1::Cache::NewStub(larderd_->channel());
    for (int i = 0; i < 10; ++i) Store(*stub, "key" + std::to_string(i));
    ASSERT_TRUE(prometheus_
                    ->WaitForValue("count(larder_cache_misses_total{namespace=\"mon\"})", 1,
                                   absl::Seconds(30))
                    .ok());
    for (int i = 0; i < 30; ++i) Lookup(*stub, "key" + std::to_string(i % 10));
    for (int i = 0; i < 10; ++i) Lookup(*stub, "missing" + std::to_string(i));
    Lookup(*stub, "");  // INVALID_ARGUMENT, for the error panels.
    ASSERT_TRUE(prometheus_
                    ->WaitForValue("sum(larder_cache_misses_total{namespace=\"mon\"})", 10,
                                   absl::Seconds(30))
                    .ok());
    ASSERT_TRUE(
        prometheus_
            ->WaitForValue("sum(larder_cache_hits_total{namespace=\"mon\"})", 30, absl::Seconds(30))
            .ok());
    ASSERT_TRUE(prometheus_
                    ->WaitForValue("sum(larder_requests_total{code=\"INVALID_ARGUMENT\"})", 1,
                                   absl::Seconds(30))
                    .ok());
  }
  static void Store(v1::Cache::Stub& stub, const std::string& key, const std::string& ns = "mon") {
    v1::SetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_value("v");
    v1::SetResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub.Set(&context, request, &response).ok());
  }
  static void Lookup(v1::Cache::Stub& stub, const std::string& key) {
    v1::GetRequest request;
    request.set_namespace_("mon");
    request.set_key(key);
    v1::GetResponse response;
    grpc::ClientContext context;
    (void)stub.Get(&context, request, &response);
  }

  // Runs every panel query that `select` picks, expecting data from each; returns how many ran.
  static int ExpectDataFrom(bool (*select)(const std::string&)) {
    int checked = 0;
    for (const PanelQuery& query : DashboardQueries()) {
      if (!select(query.expr)) continue;
      auto samples = prometheus_->Query(query.expr);
      EXPECT_TRUE(samples.ok()) << query.panel << ": " << samples.status();
      EXPECT_TRUE(samples.ok() && !samples->empty())
          << query.panel << " returned no data: " << query.expr;
      ++checked;
    }
    return checked;
  }

  static LarderdProcess* larderd_;
  static RedisServerProcess* redis_;
  static LarderdProcess* replicas_[2];
  static PrometheusProcess* prometheus_;
  static ChildProcess* http_service_;
  static int http_port_;
  static UpstreamProcess* upstream_;
  static ProxyProcess* proxies_[2];
};

LarderdProcess* DashboardTest::larderd_ = nullptr;
RedisServerProcess* DashboardTest::redis_ = nullptr;
LarderdProcess* DashboardTest::replicas_[2] = {nullptr, nullptr};
PrometheusProcess* DashboardTest::prometheus_ = nullptr;
ChildProcess* DashboardTest::http_service_ = nullptr;
int DashboardTest::http_port_ = 0;
UpstreamProcess* DashboardTest::upstream_ = nullptr;
ProxyProcess* DashboardTest::proxies_[2] = {nullptr, nullptr};

TEST_F(DashboardTest, ServerHitRatioPanelShowsTheWorkloadsRatio) {
  ASSERT_NE(prometheus_, nullptr);
  bool found = false;
  for (const PanelQuery& query : DashboardQueries()) {
    if (query.panel != "Hit ratio by namespace (server)") continue;
    found = true;
    auto samples = prometheus_->Query(query.expr);
    ASSERT_TRUE(samples.ok()) << samples.status();
    bool saw_namespace = false;
    for (const auto& sample : *samples) {
      if (sample.labels.count("namespace") == 0 || sample.labels.at("namespace") != "mon") continue;
      saw_namespace = true;
      EXPECT_NEAR(sample.value, 30.0 / 40.0, 0.005);
    }
    EXPECT_TRUE(saw_namespace) << query.expr;
  }
  EXPECT_TRUE(found) << "no panel titled \"Hit ratio by namespace (server)\"";
}

// The memory larderd holds what the workloads stored in it; the two replicas share
// kSharedEntries: the overview and the namespace panels count the shared store once.
TEST_F(DashboardTest, SharedStoreEntriesAreCountedOnce) {
  ASSERT_NE(prometheus_, nullptr);
  auto own =
      prometheus_->Query("sum(larder_entries{instance=\"" + larderd_->metrics_address() + "\"})");
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_EQ(own->size(), 1u);
  const double memory_entries = (*own)[0].value;
  EXPECT_GE(memory_entries, 10) << "the \"mon\" workload's entries";
  int checked = 0;
  for (const PanelQuery& query : DashboardQueries()) {
    if (query.panel != "Entries" && query.panel != "Entries by namespace") continue;
    auto samples = prometheus_->Query(query.expr);
    ASSERT_TRUE(samples.ok()) << samples.status();
    double total = 0;
    for (const auto& sample : *samples) total += sample.value;
    EXPECT_EQ(total, memory_entries + kSharedEntries) << query.panel << ": " << query.expr;
    ++checked;
  }
  EXPECT_EQ(checked, 2) << "panels \"Entries\" (overview) and \"Entries by namespace\"";
}

TEST_F(DashboardTest, EveryServerPanelQueryReturnsData) {
  ASSERT_NE(prometheus_, nullptr);
  EXPECT_GE(ExpectDataFrom(UsesOnlyServerMetrics), 10);
}

#ifdef LARDER_HTTP_SERVICE_PATH
TEST_F(DashboardTest, ClientHitRatioPanelShowsTheHttpWorkloadsRatio) {
  ASSERT_NE(prometheus_, nullptr);
  bool found = false;
  for (const PanelQuery& query : DashboardQueries()) {
    if (query.panel != "Hit ratio by namespace (client)") continue;
    found = true;
    auto samples = prometheus_->Query(query.expr);
    ASSERT_TRUE(samples.ok()) << samples.status();
    bool saw_items = false;
    for (const auto& sample : *samples) {
      if (sample.labels.count("namespace") == 0 || sample.labels.at("namespace") != "items") {
        continue;
      }
      saw_items = true;
      EXPECT_NEAR(sample.value, 6.0 / 8.0, 0.005);
    }
    EXPECT_TRUE(saw_items) << query.expr;
  }
  EXPECT_TRUE(found) << "no panel titled \"Hit ratio by namespace (client)\"";
}

TEST_F(DashboardTest, EveryClientAndHttpPanelQueryReturnsData) {
  ASSERT_NE(prometheus_, nullptr);
  EXPECT_GE(ExpectDataFrom(UsesClientMetrics), 5);
}
#endif

#ifdef LARDER_DASHBOARD_PROXY
TEST_F(DashboardTest, EveryProxyPanelQueryReturnsData) {
  ASSERT_NE(prometheus_, nullptr);
  EXPECT_GE(ExpectDataFrom(UsesProxyMetrics), 10);
}
#endif

}  // namespace
}  // namespace larder

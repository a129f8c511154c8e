// The Grafana dashboard against a real Prometheus scraping a real larderd: a known workload
// (30 hits, 10 misses) must show up as a 75% hit ratio, and every panel's PromQL must return
// data once variables are substituted.
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/testing/larderd_process.h"
#include "tests/testing/prometheus_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::larder::testing::PrometheusProcess;

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
      const std::string expr = absl::StrReplaceAll(
          target.value("expr", ""),
          {{"$namespace", ".*"}, {"$instance", ".*"}, {"$__rate_interval", "1m"}});
      queries.push_back(PanelQuery{panels[i].value("title", ""), expr});
    }
  }
  return queries;
}

bool UsesOnlyServerMetrics(const std::string& expr) {
  return expr.find("larder_client_") == std::string::npos &&
         expr.find("larder_http_") == std::string::npos;
}

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto larderd = LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = larderd->release();
    auto prometheus = PrometheusProcess::Start({{"larderd", {larderd_->metrics_address()}}});
    ASSERT_TRUE(prometheus.ok()) << prometheus.status();
    prometheus_ = prometheus->release();
    RunWorkload();
  }
  static void TearDownTestSuite() {
    delete prometheus_;
    delete larderd_;
  }

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
  static void Store(v1::Cache::Stub& stub, const std::string& key) {
    v1::SetRequest request;
    request.set_namespace_("mon");
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

  static LarderdProcess* larderd_;
  static PrometheusProcess* prometheus_;
};

LarderdProcess* DashboardTest::larderd_ = nullptr;
PrometheusProcess* DashboardTest::prometheus_ = nullptr;

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

TEST_F(DashboardTest, EveryServerPanelQueryReturnsData) {
  ASSERT_NE(prometheus_, nullptr);
  int checked = 0;
  for (const PanelQuery& query : DashboardQueries()) {
    if (!UsesOnlyServerMetrics(query.expr)) continue;
    auto samples = prometheus_->Query(query.expr);
    ASSERT_TRUE(samples.ok()) << query.panel << ": " << samples.status();
    EXPECT_FALSE(samples->empty()) << query.panel << " returned no data: " << query.expr;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace larder

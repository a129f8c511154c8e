// The smaller parts of larderd: flag types, option checks, namespace counters, RPC metrics and
// their Prometheus families, the bounded executor and status conversion.
#include <atomic>
#include <map>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/flag_types.h"
#include "server/grpc_services.h"
#include "server/metrics/rpc_metrics.h"
#include "server/metrics/server_metrics.h"
#include "server/server_options.h"
#include "server/service/bounded_executor.h"
#include "server/service/namespace_stats.h"
#include "server/service/status_conversion.h"
#include "tests/server/handler_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

using ::larder::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ByteSizeFlagTest, ParsesPlainNumbersAndBinarySuffixes) {
  const std::pair<const char*, int64_t> cases[] = {
      {"0", 0},        {"1048576", 1048576},     {"512MiB", int64_t{512} << 20},
      {"8M", 8 << 20}, {"2g", int64_t{2} << 30}, {"4KB", 4096},
      {" 16k ", 16384}};
  for (const auto& [text, bytes] : cases) {
    ByteSize size;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(text, &size, &error)) << text << ": " << error;
    EXPECT_EQ(size.bytes, bytes) << text;
  }
}

TEST(ByteSizeFlagTest, RejectsGarbageWithAnExplanation) {
  for (const char* text : {"", "abc", "-5", "12XB", "1.5G", "99999999999999999999G"}) {
    ByteSize size;
    std::string error;
    EXPECT_FALSE(AbslParseFlag(text, &size, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(FlagNamesTest, DashesInNamesBecomeUnderscoresButNotInValues) {
  EXPECT_EQ(NormalizeFlagArgument("--default-ttl=5m"), "--default_ttl=5m");
  EXPECT_EQ(NormalizeFlagArgument("--data-dir=/a-b"), "--data_dir=/a-b");
  EXPECT_EQ(NormalizeFlagArgument("--max-value-bytes"), "--max_value_bytes");
  EXPECT_EQ(NormalizeFlagArgument("plain-arg"), "plain-arg");
  EXPECT_EQ(EnvironmentVariableFor("memory_limit"), "LARDER_MEMORY_LIMIT");
}

TEST(ServerOptionsTest, DefaultsAreValid) { EXPECT_OK(ValidateServerOptions(ServerOptions{})); }

TEST(ServerOptionsTest, BadOptionsNameTheFlag) {
  ServerOptions options;
  options.listen = "nohostport";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--listen")));
  options = ServerOptions{};
  options.handler.max_ttl = absl::Minutes(1);
  options.handler.default_ttl = absl::Minutes(5);
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--default-ttl")));
  options = ServerOptions{};
  options.handler.max_value_bytes = 0;
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-value-bytes")));
}

TEST(NamespaceStatsTest, NamespacesBeyondTheCapShareTheOverflowBucket) {
  NamespaceStats stats(2);
  stats.RecordLookup("a", true);
  stats.RecordLookup("b", false);
  stats.RecordLookup("c", true);
  stats.RecordLookup("d", true);
  EXPECT_EQ(stats.Snapshot().size(), 2u);
  EXPECT_EQ(stats.OverflowCounts().hits, 2);
  EXPECT_EQ(stats.Counts("").hits, 3);
  EXPECT_EQ(stats.Counts("").misses, 1);
  EXPECT_EQ(stats.Counts("a").hits, 1);
}

TEST(RpcMetricsTest, CountsByCodeAndBucketsLatency) {
  RpcMetrics metrics;
  metrics.Record(Rpc::kGet, absl::StatusCode::kOk, absl::Microseconds(50));
  metrics.Record(Rpc::kGet, absl::StatusCode::kOk, absl::Milliseconds(3));
  metrics.Record(Rpc::kGet, absl::StatusCode::kInvalidArgument, absl::Seconds(10));
  EXPECT_EQ(metrics.Count(Rpc::kGet, 0), 2u);
  EXPECT_EQ(metrics.Count(Rpc::kGet, 3), 1u);
  EXPECT_EQ(metrics.Count(Rpc::kSet, 0), 0u);
  LatencySnapshot latency = metrics.Latency(Rpc::kGet);
  EXPECT_EQ(latency.bucket_counts[0], 1u);      // <= 100us
  EXPECT_EQ(latency.bucket_counts[5], 1u);      // <= 5ms
  EXPECT_EQ(latency.bucket_counts.back(), 1u);  // +Inf
  EXPECT_NEAR(latency.sum_seconds, 10.00305, 1e-9);
}

class ServerMetricsTest : public CacheHandlerTestBase {};

std::map<std::string, double> CounterSamples(const std::vector<prometheus::MetricFamily>& all,
                                             const std::string& family_name) {
  std::map<std::string, double> samples;
  for (const auto& family : all) {
    if (family.name != family_name) continue;
    for (const auto& metric : family.metric) {
      samples[metric.label.empty() ? "" : metric.label[0].value] = metric.counter.value;
    }
  }
  return samples;
}

ServerMetricsOptions MetricsOptions(size_t max_namespaces) {
  ServerMetricsOptions options;
  options.max_namespaces = max_namespaces;
  options.version = "test";
  return options;
}

TEST_F(ServerMetricsTest, HitsPerNamespaceWithBoundedLabels) {
  RpcMetrics rpc_metrics;
  ServerMetrics metrics(rpc_metrics, *handler_, MetricsOptions(2));
  Put("first", "k", "v");
  Fetch("first", "k");
  Fetch("second", "k");
  Fetch("third", "k");
  Fetch("fourth", "k");
  const auto families = metrics.Collect();
  auto hits = CounterSamples(families, "larder_cache_hits_total");
  auto misses = CounterSamples(families, "larder_cache_misses_total");
  EXPECT_EQ(hits.size(), 3u);  // Two namespaces of their own, then "_other".
  EXPECT_EQ(hits["first"], 1);
  EXPECT_EQ(misses["second"], 1);
  EXPECT_EQ(misses["_other"], 2);
}

TEST_F(ServerMetricsTest, EngineGaugesFollowTheEngine) {
  RpcMetrics rpc_metrics;
  ServerMetrics metrics(rpc_metrics, *handler_, MetricsOptions(10));
  Put("ns", "ab", "cde");
  std::map<std::string, double> gauges;
  for (const auto& family : metrics.Collect()) {
    if (family.type == prometheus::MetricType::Gauge && family.metric.size() == 1) {
      gauges[family.name] = family.metric[0].gauge.value;
    }
  }
  EXPECT_EQ(gauges["larder_entries"], 1);
  EXPECT_EQ(gauges["larder_stored_bytes"], 5);
}

double EntriesGauge(const ServerMetrics& metrics) {
  for (const auto& family : metrics.Collect()) {
    if (family.name == "larder_entries") return family.metric.at(0).gauge.value;
  }
  return -1;
}

TEST_F(ServerMetricsTest, EngineStatsAreReusedWithinTheirMaxAge) {
  RpcMetrics rpc_metrics;
  ServerMetricsOptions cached = MetricsOptions(10);
  cached.engine_stats_max_age = absl::Hours(1);
  ServerMetrics reusing(rpc_metrics, *handler_, cached);
  ServerMetrics live(rpc_metrics, *handler_, MetricsOptions(10));
  Put("ns", "a", "v");
  EXPECT_EQ(EntriesGauge(reusing), 1);
  EXPECT_EQ(EntriesGauge(live), 1);
  Put("ns", "b", "v");
  EXPECT_EQ(EntriesGauge(reusing), 1);  // Not older than an hour yet.
  EXPECT_EQ(EntriesGauge(live), 2);
}

TEST(BoundedExecutorTest, RefusesWorkBeyondItsQueue) {
  BoundedExecutor executor(1, 2);
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // The only thread is busy from here on.
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(executor.TrySubmit([&] { ++ran; }));
  EXPECT_FALSE(executor.TrySubmit([&] { ++ran; }));
  release.Notify();
}

TEST(StatusConversionTest, CodesAndMessagesSurviveBothWays) {
  absl::Status status = absl::InvalidArgumentError("key: too long");
  grpc::Status converted = ToGrpcStatus(status);
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(converted.error_message(), "key: too long");
  EXPECT_EQ(FromGrpcStatus(converted), status);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(UsableCoresTest, ACgroupCpuQuotaRoundsUpAndNoQuotaIsNoLimit) {
  EXPECT_EQ(CoresFromCgroupCpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CoresFromCgroupCpuMax("150000 100000"), 2);
  EXPECT_EQ(CoresFromCgroupCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresFromCgroupCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CoresFromCgroupCpuMax(""), std::nullopt);
  EXPECT_EQ(CoresFromCgroupCpuMax("-1 100000"), std::nullopt);
  EXPECT_EQ(CoresFromCgroupCpuMax("100000"), std::nullopt);
  EXPECT_GE(UsableCores(), 1);
}

}  // namespace
}  // namespace larder::server

// larderd's engine and process families (server/metrics/engine_metrics.h, process_metrics.h):
// a real memory engine's holdings labelled with its store, per-namespace gauges bounded by
// max_namespaces, the memory limit, health; /proc/self/stat parsing; store identities.
#include "server/metrics/engine_metrics.h"

#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/process_metrics.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"

namespace larder::server {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// name -> the label set (as "k=v,k=v") -> value, of gauges and counters.
std::map<std::string, std::map<std::string, double>> Values(
    const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, std::map<std::string, double>> values;
  for (const prometheus::MetricFamily& family : families) {
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::string labels;
      for (const auto& label : metric.label) {
        labels += (labels.empty() ? "" : ",") + label.name + "=" + label.value;
      }
      values[family.name][labels] = family.type == prometheus::MetricType::Counter
                                        ? metric.counter.value
                                        : metric.gauge.value;
    }
  }
  return values;
}

class EngineMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = storage::MemoryEngine::Create(storage::MemoryEngineOptions{}, clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  void Store(const std::string& ns, const std::string& key, const std::string& value) {
    storage::SetOptions options;
    options.etag = "\"e\"";
    ASSERT_TRUE(engine_->Set(ns, key, value, options).ok());
  }

  testing::FakeClock clock_;
  std::unique_ptr<storage::MemoryEngine> engine_;
};

TEST_F(EngineMetricsTest, HoldingsCarryTheStoreLabel) {
  Store("a", "k1", "12345");
  Store("b", "k2", "1");
  EngineMetricsOptions options;
  options.store = "memory@host:1";
  EngineMetrics metrics(*engine_, options);
  auto values = Values(metrics.Collect(/*engine_errors=*/3));
  EXPECT_THAT(values["larder_entries"], ElementsAre(Pair("store=memory@host:1", 2)));
  EXPECT_THAT(values["larder_stored_bytes"], ElementsAre(Pair("store=memory@host:1", 10)));
  EXPECT_THAT(values["larder_engine_up"],
              ElementsAre(Pair("engine=memory,store=memory@host:1", 1)));
  EXPECT_THAT(values["larder_engine_errors_total"], ElementsAre(Pair("engine=memory", 3)));
  EXPECT_EQ(values.count("larder_memory_limit_bytes"), 0u) << "none configured, none exported";
}

TEST_F(EngineMetricsTest, NamespaceGaugesAreTheFirstNamespacesByName) {
  Store("c", "k", "333");
  Store("a", "k", "1");
  Store("a", "k2", "22");
  Store("b", "k", "x");
  EngineMetricsOptions options;
  options.store = "s";
  options.max_namespaces = 2;
  auto values = Values(EngineMetrics(*engine_, options).Collect(0));
  EXPECT_THAT(values["larder_namespace_entries"],
              ElementsAre(Pair("store=s,namespace=a", 2), Pair("store=s,namespace=b", 1)));
  EXPECT_THAT(values["larder_namespace_bytes"],
              ElementsAre(Pair("store=s,namespace=a", 6), Pair("store=s,namespace=b", 2)));
}

TEST_F(EngineMetricsTest, ExportsTheConfiguredMemoryLimit) {
  EngineMetricsOptions options;
  options.memory_limit_bytes = int64_t{1} << 30;
  auto values = Values(EngineMetrics(*engine_, options).Collect(0));
  EXPECT_THAT(values["larder_memory_limit_bytes"], ElementsAre(Pair("engine=memory", 1 << 30)));
}

TEST_F(EngineMetricsTest, AReadingServesScrapesUntilItIsMaxAgeOld) {
  EngineMetricsOptions options;
  options.max_age = absl::Hours(1);
  EngineMetrics metrics(*engine_, options);
  EXPECT_EQ(Values(metrics.Collect(0))["larder_entries"]["store="], 0);
  Store("a", "k", "v");
  EXPECT_EQ(Values(metrics.Collect(0))["larder_entries"]["store="], 0) << "reused reading";
  EngineMetrics fresh(*engine_, EngineMetricsOptions{});
  EXPECT_EQ(Values(fresh.Collect(0))["larder_entries"]["store="], 1);
}

TEST(StoreIdentityTest, RedisReplicasConfiguredAlikeAgreeAndNoPasswordShows) {
  storage::EngineOptions options;
  options.redis.url = "redis://user:s3cret@10.0.0.1:6379/2";
  options.redis.key_prefix = "app:";
  const std::string store = StoreIdentity(options, "redis", "0.0.0.0:50051");
  EXPECT_EQ(store, StoreIdentity(options, "redis", "0.0.0.0:50052"));
  EXPECT_EQ(store.find("s3cret"), std::string::npos) << store;
  EXPECT_NE(store.find("10.0.0.1:6379/2 app:"), std::string::npos) << store;
}

TEST(StoreIdentityTest, MemcachedReplicasOfOnePoolAgree) {
  storage::EngineOptions options;
  options.memcached.servers = "10.0.0.1:11211,10.0.0.2:11211";
  EXPECT_EQ(StoreIdentity(options, "memcached", "0.0.0.0:1"),
            "memcached://10.0.0.1:11211,10.0.0.2:11211 larder:");
  EXPECT_EQ(StoreIdentity(options, "memcached", "0.0.0.0:1"),
            StoreIdentity(options, "memcached", "0.0.0.0:2"));
}

TEST(StoreIdentityTest, MemoryAndRocksDbStoresArePerServer) {
  storage::EngineOptions options;
  options.rocksdb.path = "/data/larder";
  EXPECT_NE(StoreIdentity(options, "memory", "0.0.0.0:1"),
            StoreIdentity(options, "memory", "0.0.0.0:2"));
  EXPECT_THAT(StoreIdentity(options, "rocksdb", "0.0.0.0:1"), ::testing::StartsWith("rocksdb@"));
  EXPECT_THAT(StoreIdentity(options, "rocksdb", "0.0.0.0:1"), ::testing::EndsWith(":/data/larder"));
}

TEST(ParseProcessStatTest, ReadsCpuMemoryAndStartTime) {
  // A command name with a space and a parenthesis; utime 250, stime 150 ticks; start 1000 ticks
  // after boot; vsize 8 MiB; rss 300 pages.
  const std::string stat =
      "42 (lar der) d) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 9 0 1000 8388608 300 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  std::optional<ProcessStat> parsed = ParseProcessStat(stat, 100, 1'700'000'000, 4096);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_DOUBLE_EQ(parsed->cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(parsed->start_time_seconds, 1'700'000'010.0);
  EXPECT_EQ(parsed->virtual_bytes, 8388608);
  EXPECT_EQ(parsed->resident_bytes, 300 * 4096);
}

TEST(ParseProcessStatTest, RefusesTruncatedOrGarbledLines) {
  EXPECT_FALSE(ParseProcessStat("42 (x) S 1 2 3", 100, 0, 4096).has_value());
  EXPECT_FALSE(ParseProcessStat("no parenthesis here", 100, 0, 4096).has_value());
  EXPECT_FALSE(ParseProcessStat("", 100, 0, 4096).has_value());
}

TEST(ProcessFamiliesTest, ThisProcessReportsEveryFamily) {
  auto values = Values(ProcessFamilies("/proc/self"));
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_start_time_seconds",
                           "process_open_fds", "process_max_fds"}) {
    ASSERT_EQ(values.count(name), 1u) << name;
  }
  EXPECT_GT(values["process_resident_memory_bytes"][""], 1 << 20);
  EXPECT_GE(values["process_open_fds"][""], 3) << "stdin, stdout and stderr at least";
  EXPECT_GT(values["process_max_fds"][""], values["process_open_fds"][""]);
}

}  // namespace
}  // namespace larder::server

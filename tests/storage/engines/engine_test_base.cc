#include "tests/storage/engines/engine_test_base.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "tests/storage/engines/memcached_test_util.h"
#include "tests/testing/child_process.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

// One redis-server for the whole test binary, started on first use and stopped at exit.
larder::testing::RedisServerProcess* SharedRedisServer() {
  static const std::unique_ptr<larder::testing::RedisServerProcess> server = [] {
    auto started = larder::testing::RedisServerProcess::Start();
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return server.get();
}

// One Redis Cluster (3 masters, 3 replicas) for the whole test binary, likewise.
larder::testing::RedisClusterProcess* SharedRedisCluster() {
  static const std::unique_ptr<larder::testing::RedisClusterProcess> cluster = [] {
    auto started = larder::testing::RedisClusterProcess::Start();
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return cluster.get();
}

std::string UniqueKeyPrefix() {
  static std::atomic<int> next{0};
  return absl::StrCat("larder-test-", getpid(), "-", next++, ":");
}

}  // namespace

std::string EngineName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

SetOptions OptionsFor(absl::string_view value, absl::Time expires_at) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.expires_at = expires_at;
  return options;
}

SetItem ItemFor(absl::string_view key, absl::string_view value, std::vector<std::string> tags) {
  SetItem item{key, value, OptionsFor(value)};
  item.options.tags = std::move(tags);
  return item;
}

void ExpectUnsupported(const absl::Status& status, absl::string_view call) {
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(std::string(call))) << status;
}

void EngineTest::SetUp() {
  EngineOptions options;
  options.memory.sweep_interval = absl::ZeroDuration();
  options.rocksdb.block_cache_bytes = int64_t{8} << 20;
  if (GetParam() == "rocksdb") {
    data_dir_ = larder::testing::MakeTempDir("larder-rocksdb");
    options.rocksdb.path = data_dir_;
  }
  const std::string engine_name = GetParam() == "redis_cluster" ? "redis" : GetParam();
  EngineRegistry registry;
  RegisterBuiltinEngines(registry);
  const std::vector<std::string> names = registry.Names();
  if (std::find(names.begin(), names.end(), engine_name) == names.end()) {
    GTEST_SKIP() << "engine \"" << engine_name << "\" is not in this build";
  }
  if (GetParam() == "redis") {
    larder::testing::RedisServerProcess* redis = SharedRedisServer();
    ASSERT_NE(redis, nullptr) << "redis-server did not start";
    options.redis.url = redis->url();
  }
  if (GetParam() == "redis_cluster") {
    larder::testing::RedisClusterProcess* cluster = SharedRedisCluster();
    ASSERT_NE(cluster, nullptr) << "the Redis Cluster did not start";
    options.redis.url = cluster->seed_url();
    options.redis.mode = "cluster";
  }
  if (GetParam() == "memcached") {
    options.memcached.servers = SharedMemcachedServers();
    ASSERT_FALSE(options.memcached.servers.empty()) << "memcached did not start";
  }
  options.redis.key_prefix = options.memcached.key_prefix = UniqueKeyPrefix();
  options.redis.pool_size = 4;
  ASSERT_OK_AND_ASSIGN(engine_, registry.Create(engine_name, options, clock_));
}

void EngineTest::TearDown() {
  engine_.reset();
  if (!data_dir_.empty()) larder::testing::RemoveTree(data_dir_);
}

void EngineTest::Put(absl::string_view ns, absl::string_view key, absl::string_view value,
                     absl::Duration ttl, std::vector<std::string> tags) {
  SetOptions options = OptionsFor(value);
  if (ttl > absl::ZeroDuration()) options.expires_at = clock_.Now() + ttl;
  options.tags = std::move(tags);
  ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set(ns, key, value, options));
  ASSERT_TRUE(result.stored);
}

std::string EngineTest::ValueOf(absl::string_view ns, absl::string_view key) {
  absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
  EXPECT_TRUE(entry.ok()) << entry.status();
  if (!entry.ok() || !entry->has_value()) return "<miss>";
  return (*entry)->value;
}

std::vector<std::string> EngineTest::ValuesOf(absl::string_view ns,
                                              const std::vector<std::string>& keys) {
  absl::StatusOr<std::vector<std::optional<StoredEntry>>> entries =
      engine_->MultiGet(ns, std::vector<absl::string_view>(keys.begin(), keys.end()));
  EXPECT_TRUE(entries.ok()) << entries.status();
  std::vector<std::string> values;
  for (size_t i = 0; i < keys.size(); ++i) {
    const bool hit = entries.ok() && i < entries->size() && (*entries)[i].has_value();
    values.push_back(hit ? (*entries)[i]->value : std::string("<miss>"));
  }
  return values;
}

}  // namespace larder::storage::testing

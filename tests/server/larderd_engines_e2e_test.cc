// End to end on every engine: the real larderd with --engine=memory|rocksdb|redis, and with
// --engine=redis on a Redis Cluster (3 masters, 3 replicas; --redis-mode=cluster), gives the same
// answers to the same RPCs; RocksDB data survives a larderd restart; a Redis outage is
// UNAVAILABLE with health NOT_SERVING, and service returns without restarting larderd.
#include <memory>

#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"

namespace larder {
namespace {

using ::larder::testing::HealthState;
using ::larder::testing::LarderdProcess;
using ::larder::testing::RedisClusterProcess;
using ::larder::testing::RedisServerProcess;

grpc::Status Put(v1::Cache::Stub& stub, const std::string& key, const std::string& value,
                 std::vector<std::string> tags = {}) {
  v1::SetRequest request;
  request.set_namespace_("e2e");
  request.set_key(key);
  request.set_value(value);
  for (auto& tag : tags) request.add_tags(tag);
  v1::SetResponse response;
  grpc::ClientContext context;
  return stub.Set(&context, request, &response);
}

grpc::Status Fetch(v1::Cache::Stub& stub, const std::string& key, v1::GetResponse* response,
                   const std::string& if_none_match = "") {
  v1::GetRequest request;
  request.set_namespace_("e2e");
  request.set_key(key);
  request.set_if_none_match(if_none_match);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  return stub.Get(&context, request, response);
}

// Whether a health probe reaches `wanted` within a few seconds.
bool EventuallyHealth(LarderdProcess& server, HealthState wanted) {
  for (int i = 0; i < 100; ++i) {
    auto state = testing::CheckHealth(server.channel(), "larder.v1.Cache");
    if (state.ok() && *state == wanted) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

// The engine name larderd reports for a test parameter: "redis_cluster" is the redis engine.
std::string EngineNameOf(const std::string& param) {
  return param == "redis_cluster" ? "redis" : param;
}

// Runs larderd on one engine (and redis-server for the redis engine, a Redis Cluster for
// "redis_cluster").
class EngineServerFixture {
 protected:
  void StartOn(const std::string& engine) {
    std::vector<std::string> args = {"--engine=" + EngineNameOf(engine),
                                     "--health-check-interval=100ms"};
    if (engine == "rocksdb") {
      data_dir_ = testing::MakeTempDir("larder-e2e-rocksdb");
      args.push_back("--data-dir=" + data_dir_);
    }
    if (engine == "redis") {
      auto redis = RedisServerProcess::Start();
      ASSERT_TRUE(redis.ok()) << redis.status();
      redis_ = *std::move(redis);
      args.push_back("--redis-url=" + redis_->url());
    }
    if (engine == "redis_cluster") {
      auto cluster = RedisClusterProcess::Start();
      ASSERT_TRUE(cluster.ok()) << cluster.status();
      cluster_ = *std::move(cluster);
      args.push_back("--redis-url=" + cluster_->seed_url());
      args.push_back("--redis-mode=cluster");
    }
    args_ = args;
    StartServer();
  }
  void StopAll() {
    stub_.reset();  // An open client connection would slow the server's shutdown.
    server_.reset();
    redis_.reset();
    cluster_.reset();
    if (!data_dir_.empty()) testing::RemoveTree(data_dir_);
  }
  void StartServer() {
    auto server = LarderdProcess::Start(args_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::Cache::NewStub(server_->channel());
  }

  std::vector<std::string> args_;
  std::string data_dir_;
  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<RedisClusterProcess> cluster_;
  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

class EngineE2eTest : public EngineServerFixture, public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { StartOn(GetParam()); }
  void TearDown() override { StopAll(); }
};

class RocksDbE2eTest : public EngineServerFixture, public ::testing::Test {
 protected:
  void SetUp() override { StartOn("rocksdb"); }
  void TearDown() override { StopAll(); }
};

class RedisE2eTest : public EngineServerFixture, public ::testing::Test {
 protected:
  void SetUp() override { StartOn("redis"); }
  void TearDown() override { StopAll(); }
};

TEST_P(EngineE2eTest, SameAnswersToTheSameRpcs) {
  ASSERT_TRUE(Put(*stub_, "a", "alpha", {"group"}).ok());
  ASSERT_TRUE(Put(*stub_, "b", "beta", {"group"}).ok());
  ASSERT_TRUE(Put(*stub_, "c", "gamma").ok());
  v1::GetResponse got;
  ASSERT_TRUE(Fetch(*stub_, "a", &got).ok());
  EXPECT_EQ(got.value(), "alpha");
  EXPECT_EQ(got.etag(), StrongEtagFor("alpha"));
  ASSERT_TRUE(Fetch(*stub_, "a", &got, StrongEtagFor("alpha")).ok());
  EXPECT_TRUE(got.not_modified());
  EXPECT_TRUE(got.value().empty());

  v1::InvalidateRequest by_tag;
  by_tag.set_namespace_("e2e");
  by_tag.set_tag("group");
  v1::InvalidateResponse invalidated;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Invalidate(&context, by_tag, &invalidated).ok());
  EXPECT_EQ(invalidated.deleted(), 2);

  v1::StatsRequest stats_request;
  stats_request.set_namespace_("e2e");
  v1::StatsResponse stats;
  grpc::ClientContext stats_context;
  ASSERT_TRUE(stub_->Stats(&stats_context, stats_request, &stats).ok());
  EXPECT_EQ(stats.entries(), 1);
  EXPECT_EQ(stats.bytes(), 1 + 5);
  EXPECT_EQ(stats.engine(), EngineNameOf(GetParam()));
  EXPECT_EQ(testing::CheckHealth(server_->channel(), "").value(), HealthState::kServing);
}

TEST_F(RocksDbE2eTest, EntriesSurviveALarderdRestart) {
  ASSERT_TRUE(Put(*stub_, "durable", "still here").ok());
  stub_.reset();
  server_.reset();  // SIGTERM and wait.
  StartServer();
  v1::GetResponse got;
  ASSERT_TRUE(Fetch(*stub_, "durable", &got).ok());
  EXPECT_EQ(got.value(), "still here");
}

TEST_F(RedisE2eTest, OutageIsUnavailableAndRecoversWithoutRestart) {
  ASSERT_TRUE(Put(*stub_, "k", "before").ok());
  redis_->Kill();
  v1::GetResponse got;
  EXPECT_EQ(Fetch(*stub_, "k", &got).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(EventuallyHealth(*server_, HealthState::kNotServing));
  // The process itself stays alive (liveness), only the cache service is not ready.
  EXPECT_EQ(testing::CheckHealth(server_->channel(), "").value(), HealthState::kServing);
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(EventuallyHealth(*server_, HealthState::kServing));
  grpc::Status status;
  for (int i = 0; i < 50; ++i) {  // The engine reconnects with a short backoff.
    status = Put(*stub_, "k", "after");
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Fetch(*stub_, "k", &got).ok());
  EXPECT_EQ(got.value(), "after");
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineE2eTest,
                         ::testing::Values("memory", "rocksdb", "redis", "redis_cluster"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace larder

// End to end: the real larderd binary on a free port, every RPC of larder.v1.Cache through the
// generated stubs, plus the health and reflection services; each case on both gRPC server APIs
// (--grpc-api=async, the default, and callback), one larderd per API.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

// The parameter is the --grpc-api value.
class LarderdTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    for (auto& [api, server] : servers_) delete server;
    servers_.clear();
  }
  void SetUp() override {
    LarderdProcess*& server = servers_[GetParam()];
    if (server == nullptr) {
      auto started =
          LarderdProcess::Start({"--grpc-api=" + GetParam(), "--default-ttl=10m", "--max-ttl=1h",
                                 "--max-value-bytes=1MiB", "--memory-limit=64MiB"});
      ASSERT_TRUE(started.ok()) << started.status();
      server = std::move(started).value().release();
    }
    server_ = server;
    stub_ = v1::Cache::NewStub(server_->channel());
  }

  grpc::Status Set(const std::string& ns, const std::string& key, const std::string& value,
                   v1::SetResponse* response, int64_t ttl_seconds = 0) {
    v1::SetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_value(value);
    if (ttl_seconds > 0) request.mutable_ttl()->set_seconds(ttl_seconds);
    grpc::ClientContext context;
    return stub_->Set(&context, request, response);
  }
  v1::GetResponse Get(const std::string& ns, const std::string& key,
                      const std::string& if_none_match = "") {
    v1::GetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_if_none_match(if_none_match);
    v1::GetResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->Get(&context, request, &response).ok());
    return response;
  }

  static std::map<std::string, LarderdProcess*> servers_;  // By API, started by the first case.
  LarderdProcess* server_ = nullptr;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

std::map<std::string, LarderdProcess*> LarderdTest::servers_;

INSTANTIATE_TEST_SUITE_P(GrpcApis, LarderdTest, ::testing::Values("async", "callback"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(LarderdTest, SetGetRoundTripWithEtagAndDefaultTtl) {
  v1::SetResponse stored;
  ASSERT_TRUE(Set("e2e", "k", "value", &stored).ok());
  EXPECT_TRUE(stored.stored());
  EXPECT_EQ(stored.etag(), StrongEtagFor("value"));
  v1::GetResponse got = Get("e2e", "k");
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "value");
  EXPECT_EQ(got.etag(), stored.etag());
  EXPECT_GT(got.ttl().seconds(), 590);  // --default-ttl=10m
  EXPECT_LE(got.ttl().seconds(), 600);
}

TEST_P(LarderdTest, MissIsOkNotFound) {
  v1::GetRequest request;
  request.set_namespace_("e2e");
  request.set_key("never-set");
  v1::GetResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->Get(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.found());
}

TEST_P(LarderdTest, IfNoneMatchGivesNotModifiedWithoutBytes) {
  v1::SetResponse stored;
  ASSERT_TRUE(Set("e2e", "cond", "payload", &stored).ok());
  v1::GetResponse response = Get("e2e", "cond", "\"x\", W/" + stored.etag());
  EXPECT_TRUE(response.found());
  EXPECT_TRUE(response.not_modified());
  EXPECT_TRUE(response.value().empty());
  EXPECT_EQ(response.etag(), stored.etag());
}

TEST_P(LarderdTest, BadInputIsInvalidArgumentNamingFieldAndLimit) {
  v1::SetResponse response;
  grpc::Status status = Set("e2e", std::string(5000, 'k'), "v", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("key: must be 1-4096 bytes"));
  status = Set("e2e", "k", "v", &response, /*ttl_seconds=*/7200);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("--max-ttl"));
  status = Set("e2e", "k", std::string((1 << 20) + 1, 'v'), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 1048576 bytes"));
}

TEST_P(LarderdTest, LargestAllowedValueFitsTheMessageLimit) {
  v1::SetResponse response;
  const std::string value(1 << 20, 'v');
  grpc::Status status = Set("e2e", "big", value, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Get("e2e", "big").value().size(), value.size());
}

TEST_P(LarderdTest, DeleteAndTouch) {
  v1::SetResponse stored;
  ASSERT_TRUE(Set("e2e", "dt", "v", &stored, 30).ok());
  v1::TouchRequest touch;
  touch.set_namespace_("e2e");
  touch.set_key("dt");
  touch.mutable_ttl()->set_seconds(3000);
  v1::TouchResponse touched;
  grpc::ClientContext touch_context;
  ASSERT_TRUE(stub_->Touch(&touch_context, touch, &touched).ok());
  EXPECT_TRUE(touched.found());
  EXPECT_GT(Get("e2e", "dt").ttl().seconds(), 2990);
  v1::DeleteRequest del;
  del.set_namespace_("e2e");
  del.set_key("dt");
  v1::DeleteResponse deleted;
  grpc::ClientContext delete_context;
  ASSERT_TRUE(stub_->Delete(&delete_context, del, &deleted).ok());
  EXPECT_TRUE(deleted.deleted());
  EXPECT_FALSE(Get("e2e", "dt").found());
}

TEST_P(LarderdTest, MultiSetThenMultiGetInOrder) {
  v1::MultiSetRequest multi_set;
  multi_set.set_namespace_("e2e-multi");
  for (const char* key : {"a", "b", "c"}) {
    auto* entry = multi_set.add_entries();
    entry->set_key(key);
    entry->set_value(std::string("value-") + key);
  }
  v1::MultiSetResponse set_response;
  grpc::ClientContext set_context;
  ASSERT_TRUE(stub_->MultiSet(&set_context, multi_set, &set_response).ok());
  ASSERT_EQ(set_response.results_size(), 3);
  v1::MultiGetRequest multi_get;
  multi_get.set_namespace_("e2e-multi");
  for (const char* key : {"c", "zzz", "a"}) multi_get.add_keys(key);
  v1::MultiGetResponse get_response;
  grpc::ClientContext get_context;
  ASSERT_TRUE(stub_->MultiGet(&get_context, multi_get, &get_response).ok());
  ASSERT_EQ(get_response.results_size(), 3);
  EXPECT_EQ(get_response.results(0).value(), "value-c");
  EXPECT_FALSE(get_response.results(1).found());
  EXPECT_EQ(get_response.results(2).value(), "value-a");
}

TEST_P(LarderdTest, InvalidateByTagAndNamespaceThenStats) {
  v1::SetRequest tagged;
  tagged.set_namespace_("e2e-inv");
  tagged.set_key("t1");
  tagged.add_tags("group");
  v1::SetResponse set_response;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Set(&c1, tagged, &set_response).ok());
  ASSERT_TRUE(Set("e2e-inv", "plain", "v", &set_response).ok());
  v1::InvalidateRequest by_tag;
  by_tag.set_namespace_("e2e-inv");
  by_tag.set_tag("group");
  v1::InvalidateResponse invalidated;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->Invalidate(&c2, by_tag, &invalidated).ok());
  EXPECT_EQ(invalidated.deleted(), 1);

  v1::StatsRequest stats_request;
  stats_request.set_namespace_("e2e-inv");
  v1::StatsResponse stats;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Stats(&c3, stats_request, &stats).ok());
  EXPECT_EQ(stats.entries(), 1);
  EXPECT_EQ(stats.bytes(), 5 + 1);
  EXPECT_EQ(stats.engine(), "memory");

  v1::InvalidateRequest everything;
  everything.set_namespace_("e2e-inv");
  everything.set_all(true);
  grpc::ClientContext c4;
  ASSERT_TRUE(stub_->Invalidate(&c4, everything, &invalidated).ok());
  EXPECT_EQ(invalidated.deleted(), 1);
}

TEST_P(LarderdTest, HealthServesForServerAndCacheService) {
  auto overall = testing::CheckHealth(server_->channel(), "");
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, testing::HealthState::kServing);
  auto cache = testing::CheckHealth(server_->channel(), "larder.v1.Cache");
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(*cache, testing::HealthState::kServing);
}

TEST_P(LarderdTest, HealthOfAnUnknownServiceIsNotFound) {
  auto unknown = testing::CheckHealth(server_->channel(), "no.such.Service");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
}

TEST_P(LarderdTest, HealthWatchSendsServingAtOnce) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("larder.v1.Cache");
  auto reader = health->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  context.TryCancel();
}

TEST_P(LarderdTest, ManyCallsInFlightAtOnceAreAllAnswered) {
  v1::SetResponse stored;
  ASSERT_TRUE(Set("inflight", "k", "v", &stored).ok());
  grpc::CompletionQueue queue;
  constexpr int kCalls = 300;
  std::vector<grpc::ClientContext> contexts(kCalls);
  std::vector<v1::GetResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetResponse>>> readers;
  v1::GetRequest request;
  request.set_namespace_("inflight");
  request.set_key("k");
  for (int i = 0; i < kCalls; ++i) {
    contexts[i].set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    readers.push_back(stub_->AsyncGet(&contexts[i], request, &queue));
    readers.back()->Finish(&responses[i], &statuses[i], reinterpret_cast<void*>(intptr_t{i}));
  }
  int answered = 0;
  void* tag = nullptr;
  bool ok = false;
  while (answered < kCalls && queue.Next(&tag, &ok)) {
    const auto i = reinterpret_cast<intptr_t>(tag);
    EXPECT_TRUE(ok);
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_TRUE(responses[i].found());
    EXPECT_EQ(responses[i].value(), "v");
    ++answered;
  }
  EXPECT_EQ(answered, kCalls);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

TEST_P(LarderdTest, ReflectionListsTheCacheService) {
  auto listed = testing::ListServicesByReflection(server_->channel());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(*listed, HasSubstr("larder.v1.Cache"));
  EXPECT_THAT(*listed, HasSubstr("grpc.health.v1.Health"));
}

}  // namespace
}  // namespace larder

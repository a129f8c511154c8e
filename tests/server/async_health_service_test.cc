// AsyncHealthService served by a real gRPC server on a loopback port, on completion queues
// polled by QueueThreads, and probed through the generated grpc.health.v1 stub: Check, Watch
// (status at once, then each change; unknown names; the watcher limit) and Shutdown.
#include "server/service/async_health_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/service/async_tag.h"

namespace larder::server {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr size_t kMaxWatchersHere = 2;

class AsyncHealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(false);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(health_.service());
    threads_.AddTo(builder, 2);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    health_.AwaitCalls(threads_.queues());
    threads_.Start();
    stub_ = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    health_.Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    threads_.Stop();
  }

  static void WithDeadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  grpc::Status Check(const std::string& name, HealthCheckResponse& response) {
    grpc::ClientContext context;
    WithDeadline(context);
    HealthCheckRequest request;
    request.set_service(name);
    return stub_->Check(&context, request, &response);
  }
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> Watch(grpc::ClientContext& context,
                                                                 const std::string& name) {
    WithDeadline(context);
    HealthCheckRequest request;
    request.set_service(name);
    return stub_->Watch(&context, request);
  }
  static HealthCheckResponse::ServingStatus Next(grpc::ClientReader<HealthCheckResponse>& reader) {
    HealthCheckResponse response;
    EXPECT_TRUE(reader.Read(&response));
    return response.status();
  }

  AsyncHealthService health_{kMaxWatchersHere};
  QueueThreads threads_;  // After health_: stopped before it is destroyed.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(AsyncHealthServiceTest, CheckAnswersTheStatusSetAndNotFoundForOtherNames) {
  health_.SetServing("", true);
  health_.SetServing("larder.v1.Cache", false);
  HealthCheckResponse response;
  ASSERT_TRUE(Check("", response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check("larder.v1.Cache", response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("no.such.Service", response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AsyncHealthServiceTest, WatchSendsTheStatusAtOnceThenEachChange) {
  health_.SetServing("larder.v1.Cache", true);
  grpc::ClientContext context;
  auto reader = Watch(context, "larder.v1.Cache");
  EXPECT_EQ(Next(*reader), HealthCheckResponse::SERVING);
  health_.SetServing("larder.v1.Cache", false);
  EXPECT_EQ(Next(*reader), HealthCheckResponse::NOT_SERVING);
  health_.SetServing("other", false);  // Another name: nothing for this watcher.
  health_.SetServing("larder.v1.Cache", true);
  EXPECT_EQ(Next(*reader), HealthCheckResponse::SERVING);
  context.TryCancel();
}

TEST_F(AsyncHealthServiceTest, WatchOfANameNeverSetIsServiceUnknownUntilItIsSet) {
  grpc::ClientContext context;
  auto reader = Watch(context, "later");
  EXPECT_EQ(Next(*reader), HealthCheckResponse::SERVICE_UNKNOWN);
  health_.SetServing("later", true);
  EXPECT_EQ(Next(*reader), HealthCheckResponse::SERVING);
  context.TryCancel();
}

TEST_F(AsyncHealthServiceTest, AWatcherBeyondTheLimitIsRefusedAndAFreedPlaceIsReused) {
  health_.SetServing("", true);
  grpc::ClientContext first_context, second_context;
  auto first = Watch(first_context, "");
  auto second = Watch(second_context, "");
  EXPECT_EQ(Next(*first), HealthCheckResponse::SERVING);
  EXPECT_EQ(Next(*second), HealthCheckResponse::SERVING);

  grpc::ClientContext third_context;
  auto third = Watch(third_context, "");
  HealthCheckResponse response;
  EXPECT_FALSE(third->Read(&response));
  const grpc::Status refused = third->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("at most 2"), std::string::npos)
      << refused.error_message();

  first_context.TryCancel();
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The cancelled stream's place frees once the server has seen it end; a new one then fits.
  grpc::Status fourth_status;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    grpc::ClientContext fourth_context;
    auto fourth = Watch(fourth_context, "");
    if (fourth->Read(&response)) {
      EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
      fourth_context.TryCancel();
      fourth_status = grpc::Status::OK;
      break;
    }
    fourth_status = fourth->Finish();
  }
  EXPECT_TRUE(fourth_status.ok()) << fourth_status.error_message();
  second_context.TryCancel();
}

TEST_F(AsyncHealthServiceTest, ShutdownSendsNotServingThenEndsWatchesAndFreezesStatuses) {
  health_.SetServing("", true);
  grpc::ClientContext context;
  auto reader = Watch(context, "");
  EXPECT_EQ(Next(*reader), HealthCheckResponse::SERVING);
  health_.Shutdown();
  EXPECT_EQ(Next(*reader), HealthCheckResponse::NOT_SERVING);
  HealthCheckResponse response;
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  health_.SetServing("", true);  // Ignored from now on.
  ASSERT_TRUE(Check("", response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace larder::server

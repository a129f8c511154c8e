// AsyncCacheService served by a real in-process gRPC server on a loopback port (two completion
// queues, QueueThreads) over a real memory engine with change reports, called through the
// generated stub. Calls run on a storage executor's threads, so every reply is handed back to
// its queue's thread (TaskQueue), and Watch events come from the writing call's thread: the
// cross-thread paths ThreadSanitizer checks in CI.
#include "server/service/async_cache_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/service/async_tag.h"
#include "server/storage/change_reporting_engine.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"

namespace larder::server {
namespace {

class AsyncCacheServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::MemoryEngineOptions engine_options;
    engine_options.max_bytes = 16 << 20;
    engine_options.sweep_interval = absl::ZeroDuration();
    engine_ = storage::WithChangeReports(
        std::move(storage::MemoryEngine::Create(engine_options, clock_)).value(), hub_);
    handler_ = std::make_unique<CacheHandler>(*engine_, clock_, CacheHandlerOptions{});
    service_ = std::make_unique<AsyncCacheService>(*handler_, metrics_, &storage_, namespace_ops_,
                                                   nullptr, &hub_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(service_->service());
    threads_.AddTo(builder, 2);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    service_->AwaitCalls(threads_.queues());
    threads_.Start();
    stub_ = v1::Cache::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                   grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    hub_.Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    threads_.Stop();
  }

  static void WithDeadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }
  grpc::Status Set(const std::string& key, const std::string& value) {
    grpc::ClientContext context;
    WithDeadline(context);
    v1::SetRequest request;
    request.set_namespace_("ns");
    request.set_key(key);
    request.set_value(value);
    v1::SetResponse response;
    return stub_->Set(&context, request, &response);
  }
  grpc::Status Get(const std::string& key, v1::GetResponse& response) {
    grpc::ClientContext context;
    WithDeadline(context);
    v1::GetRequest request;
    request.set_namespace_("ns");
    request.set_key(key);
    return stub_->Get(&context, request, &response);
  }

  testing::FakeClock clock_;
  WatchHub hub_{WatchOptions{}};
  std::unique_ptr<storage::StorageEngine> engine_;
  std::unique_ptr<CacheHandler> handler_;
  RpcMetrics metrics_;
  BoundedExecutor storage_{2, 64};
  BoundedExecutor namespace_ops_{1, 16};
  std::unique_ptr<AsyncCacheService> service_;
  // Stop logs every 10 ms while calls keep it waiting (30 s in larderd).
  QueueThreads threads_{absl::Milliseconds(10)};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

TEST_F(AsyncCacheServiceTest, CallsFromManyClientThreadsAreAllAnsweredWithTheirOwnValues) {
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 50;
  std::vector<std::thread> clients;
  std::vector<int> wrong(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([this, t, &wrong] {
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
        v1::GetResponse got;
        if (!Set(key, "value of " + key).ok() || !Get(key, got).ok() ||
            got.value() != "value of " + key) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "client thread " << t;
}

TEST_F(AsyncCacheServiceTest, NamespaceCallsAndBadInputAnswerThroughTheQueues) {
  ASSERT_TRUE(Set("a", "1").ok());
  grpc::ClientContext stats_context;
  WithDeadline(stats_context);
  v1::StatsRequest stats_request;
  stats_request.set_namespace_("ns");
  v1::StatsResponse stats;
  ASSERT_TRUE(stub_->Stats(&stats_context, stats_request, &stats).ok());
  EXPECT_EQ(stats.entries(), 1);

  v1::GetResponse got;
  const grpc::Status bad = Get(std::string(100000, 'k'), got);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("key"), std::string::npos) << bad.error_message();
}

TEST_F(AsyncCacheServiceTest, WatchStreamsTheChangesOfItsNamespaceThenEndsOnShutdown) {
  grpc::ClientContext context;
  WithDeadline(context);
  v1::WatchRequest request;
  request.set_namespace_("ns");
  auto reader = stub_->Watch(&context, request);
  v1::WatchEvent event;
  ASSERT_TRUE(reader->Read(&event));  // Every stream starts with a reset.
  EXPECT_TRUE(event.reset());
  ASSERT_TRUE(Set("watched", "v").ok());
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.key(), "watched");

  hub_.Shutdown();
  while (reader->Read(&event)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
}

TEST_F(AsyncCacheServiceTest, AWatchOfABadNamespaceIsRefusedNamingTheField) {
  grpc::ClientContext context;
  WithDeadline(context);
  v1::WatchRequest request;
  request.set_namespace_("");
  auto reader = stub_->Watch(&context, request);
  v1::WatchEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("namespace"), std::string::npos)
      << refused.error_message();
}

// All call objects alive on the queues: the calls requested in advance, plus one per call in
// progress.
int64_t CallsAlive(const QueueThreads& threads) {
  int64_t alive = 0;
  for (const std::unique_ptr<ServedQueue>& queue : threads.queues()) alive += queue->calls.Alive();
  return alive;
}

// A call still queued for a storage thread when the server shuts down is finished on its queue
// before that queue is shut down, however long the storage threads take (here, many times
// Stop's log period): a queue shut down under the call would abort the process at its finish.
TEST_F(AsyncCacheServiceTest, ACallQueuedForStorageAtShutdownFinishesBeforeItsQueueCloses) {
  absl::Notification release_storage;
  for (int i = 0; i < 2; ++i) {  // Both storage threads busy until released.
    ASSERT_TRUE(storage_.TrySubmit([&release_storage] { release_storage.WaitForNotification(); }));
  }
  const int64_t requested = CallsAlive(threads_);
  grpc::Status got_status;
  std::thread client([this, &got_status] {
    v1::GetResponse got;
    got_status = Get("k", got);
  });
  while (CallsAlive(threads_) == requested) std::this_thread::yield();  // The Get is queued.

  absl::Notification stopped;
  std::thread stopper([this, &stopped] {
    server_->Shutdown(std::chrono::system_clock::now());
    threads_.Stop();
    stopped.Notify();
  });
  EXPECT_FALSE(stopped.WaitForNotificationWithTimeout(absl::Milliseconds(300)))
      << "Stop returned while a call was alive";
  release_storage.Notify();
  stopper.join();
  client.join();
  EXPECT_TRUE(stopped.HasBeenNotified());
  EXPECT_EQ(CallsAlive(threads_), 0);
  EXPECT_FALSE(got_status.ok()) << "the call was cancelled by the shutdown before it ran";
}

}  // namespace
}  // namespace larder::server

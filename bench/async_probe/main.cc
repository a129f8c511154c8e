// larder_async_probe: a gRPC server that answers only larder.v1.Cache/Get, from the Redis engine,
// on gRPC's async API with one completion queue polled by one thread. It measured what larderd's
// Redis Gets would cost on that design before larderd moved to it (docs/performance.md, "What the
// hand-back costs"), and with --answer=null it measures the ceiling any gRPC server has under the
// load generator; it is not a server to deploy (no other RPC, no auth, no metrics, no shutdown).
//
//   larder_async_probe --redis_url=redis://127.0.0.1:6379/1 [--finish=pipe|queue] [--health]
//
// --finish=pipe finishes each call on the Redis pipe's I/O thread; --finish=queue hands every
// call one read finished to the queue's thread at once (an Alarm set and cancelled). --health
// adds gRPC's default health service, a callback service whose threads poll the same sockets.
// --answer=null never asks Redis: every Get is answered at once, on the queue's thread, with a
// found entry of --null_value_size bytes: the most Gets/s any gRPC server could serve this load
// generator on this machine (the ceiling the Redis-engine figures are read against).
// Prints "larderd ready grpc=127.0.0.1:PORT" once it serves, as larderd does (bench/lib.sh).
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/storage/redis/redis_engine.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address to serve on");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379/0", "the Redis engine's URL");
ABSL_FLAG(std::string, finish, "pipe", "where calls finish: pipe or queue");
ABSL_FLAG(bool, health, false, "also serve gRPC's default (callback) health service");
ABSL_FLAG(std::string, answer, "redis", "where Gets are answered from: redis or null (no storage)");
ABSL_FLAG(int, null_value_size, 1024, "with --answer=null, the size of every value returned");

namespace larder::bench {
namespace {

using storage::RedisEngine;
using storage::StoredEntry;

// What the queue's thread does with one of its tags.
class Tagged {
 public:
  virtual ~Tagged() = default;
  virtual void Proceed(bool ok) = 0;
};

class GetCall;

// What --answer=null returns for every key.
const StoredEntry& NullEntry() {
  static const StoredEntry* entry = new StoredEntry{
      std::string(static_cast<size_t>(absl::GetFlag(FLAGS_null_value_size)), 'v'),
      "\"null-probe\"", absl::InfiniteFuture()};
  return *entry;
}

// Hands finished calls to the queue's thread: one Alarm per batch, not per call.
class Finisher {
 public:
  explicit Finisher(grpc::CompletionQueue* queue) : queue_(queue) {}
  void Post(GetCall* call);

 private:
  class Wake : public Tagged {
   public:
    explicit Wake(Finisher* finisher) : finisher_(finisher) {}
    void Proceed(bool) override;
    grpc::Alarm& alarm() { return alarm_; }

   private:
    Finisher* finisher_;
    grpc::Alarm alarm_;
  };
  void Drain();

  grpc::CompletionQueue* queue_;
  absl::Mutex mutex_;
  std::vector<GetCall*> ready_ ABSL_GUARDED_BY(mutex_);
  bool wake_pending_ ABSL_GUARDED_BY(mutex_) = false;
};

// One Get: requested, then sent to Redis, then finished, then deleted.
class GetCall : public Tagged {
 public:
  GetCall(v1::Cache::AsyncService* service, grpc::ServerCompletionQueue* queue, RedisEngine* engine,
          Finisher* finisher)
      : service_(service), queue_(queue), engine_(engine), finisher_(finisher) {
    service_->RequestGet(&context_, &request_, &responder_, queue_, queue_, this);
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {
      delete this;
      return;
    }
    new GetCall(service_, queue_, engine_, finisher_);  // The next request's slot.
    if (engine_ == nullptr) {
      result_ = NullEntry();
      Finish();
      return;
    }
    storage::StorageEngine::GetCallback done =
        [this](absl::StatusOr<std::optional<StoredEntry>> result) {
          result_ = std::move(result);
          if (finisher_ == nullptr) {
            Finish();
          } else {
            finisher_->Post(this);
          }
        };
    if (!engine_->GetAsync(request_.namespace_(), request_.key(), done)) {
      result_ = engine_->Get(request_.namespace_(), request_.key());
      Finish();
    }
  }

  void Finish() {
    finishing_ = true;
    if (!result_.ok()) {
      responder_.FinishWithError(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(result_.status().message())),
          this);
      return;
    }
    if (result_->has_value()) {
      response_.set_found(true);
      response_.set_value((*result_)->value);
      response_.set_etag((*result_)->etag);
    }
    responder_.Finish(response_, grpc::Status::OK, this);
  }

 private:
  v1::Cache::AsyncService* service_;
  grpc::ServerCompletionQueue* queue_;
  RedisEngine* engine_;
  Finisher* finisher_;
  grpc::ServerContext context_;
  v1::GetRequest request_;
  v1::GetResponse response_;
  grpc::ServerAsyncResponseWriter<v1::GetResponse> responder_{&context_};
  absl::StatusOr<std::optional<StoredEntry>> result_;
  bool finishing_ = false;
};

void Finisher::Post(GetCall* call) {
  {
    absl::MutexLock lock(&mutex_);
    ready_.push_back(call);
    if (wake_pending_) return;
    wake_pending_ = true;
  }
  auto* wake = new Wake(this);
  wake->alarm().Set(queue_, gpr_inf_future(GPR_CLOCK_MONOTONIC), wake);
  wake->alarm().Cancel();  // Posts the tag now, from this thread.
}

void Finisher::Drain() {
  std::vector<GetCall*> ready;
  {
    absl::MutexLock lock(&mutex_);
    ready.swap(ready_);
    wake_pending_ = false;
  }
  for (GetCall* call : ready) call->Finish();
}

void Finisher::Wake::Proceed(bool) {
  finisher_->Drain();
  delete this;
}

// The Redis engine Gets are answered from; null with --answer=null.
absl::StatusOr<std::unique_ptr<RedisEngine>> EngineToAnswerFrom() {
  if (absl::GetFlag(FLAGS_answer) == "null") return nullptr;
  storage::RedisEngineOptions options;
  options.url = absl::GetFlag(FLAGS_redis_url);
  return RedisEngine::Create(options, Clock::Real());
}

int Serve() {
  absl::StatusOr<std::unique_ptr<RedisEngine>> engine = EngineToAnswerFrom();
  if (!engine.ok()) {
    std::cerr << "larder_async_probe: " << engine.status() << std::endl;
    return 1;
  }
  grpc::EnableDefaultHealthCheckService(absl::GetFlag(FLAGS_health));
  v1::Cache::AsyncService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::ServerCompletionQueue> queue = builder.AddCompletionQueue();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::optional<Finisher> finisher;
  if (absl::GetFlag(FLAGS_finish) == "queue") finisher.emplace(queue.get());
  for (int i = 0; i < 100; ++i) {
    new GetCall(&service, queue.get(), engine->get(), finisher ? &*finisher : nullptr);
  }
  std::cerr << "larderd ready grpc=127.0.0.1:" << port << std::endl;
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) static_cast<Tagged*>(tag)->Proceed(ok);
  return 0;
}

}  // namespace
}  // namespace larder::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return larder::bench::Serve();
}

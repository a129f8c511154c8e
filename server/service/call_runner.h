// CallRunner: what every larder.v1.Cache unary call goes through, whichever gRPC API serves it
// (CacheService: callback; AsyncCacheService: completion queues). It checks the caller's
// permission, then runs the handler method inline when the engine never blocks (memory), on the
// storage executor when it may (RocksDB, Redis), or without a thread when the engine can wait
// for its I/O (Redis Get and MultiGet: StorageEngine::GetAsync). Invalidate, Stats and
// Namespaces, whose cost grows with a namespace, always run on the namespace executor. A call
// whose deadline passed (or which was cancelled, where the API can tell) while queued is dropped
// without running. Every call is counted in RpcMetrics by method, status code and latency, then
// handed to its Completion.
//
//   runner.Run(*context, Cancellation::kObservable, Rpc::kGet, &CacheHandler::Get, *request,
//              *response, Completion{reactor, &FinishReactor});
#pragma once

#include <chrono>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "larder/v1/cache.pb.h"
#include "server/auth/authorizer.h"
#include "server/metrics/rpc_metrics.h"
#include "server/service/bounded_executor.h"
#include "server/service/cache_handler.h"
#include "server/service/watch_hub.h"

namespace larder::server {

// How a finished call reaches gRPC: `finish(call, status)`; copyable, so it can ride along a
// queued task and an engine callback alike.
struct Completion {
  void* call = nullptr;
  void (*finish)(void* call, const grpc::Status& status) = nullptr;
};

// Whether ServerContextBase::IsCancelled may be asked while a call runs: always with the callback
// API; with the async API only after an AsyncNotifyWhenDone tag, which larderd does not request.
enum class Cancellation { kObservable, kUnobservable };

// The authorization metadata and verified client-certificate names of a call.
auth::Caller CallerOf(const grpc::ServerContextBase& context);

class CallRunner {
 public:
  template <typename Request, typename Response>
  using HandlerMethod = absl::Status (CacheHandler::*)(const Request&, Response&);

  // `storage` null means single-key and batch calls run inline; `authorizer` null means every
  // caller may do everything; `watch_hub` null means Watch answers UNIMPLEMENTED. All referents
  // must outlive the runner.
  CallRunner(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* storage,
             BoundedExecutor& namespace_ops, auth::Authorizer* authorizer, WatchHub* watch_hub)
      : handler_(handler),
        metrics_(metrics),
        storage_(storage),
        namespace_ops_(namespace_ops),
        authorizer_(authorizer),
        watch_hub_(watch_hub) {}

  // Runs one unary call to its end: `done` is called exactly once, maybe on another thread.
  // `context`, `request` and `response` must live until then.
  template <typename Request, typename Response>
  void Run(grpc::ServerContextBase& context, Cancellation cancellation, Rpc rpc,
           HandlerMethod<Request, Response> method, const Request& request, Response& response,
           Completion done);

  // Whether a Watch of `request` may open: a valid namespace, read permission, and a hub.
  absl::Status AllowWatch(const grpc::ServerContextBase& context, const v1::WatchRequest& request);
  // Counts a Watch that opened (OK) or was refused; how long a stream lasts is not a latency.
  void RecordWatch(const absl::Status& outcome, std::chrono::steady_clock::time_point started);
  // The hub Watch streams register with; a hub that refuses nothing when there is none (then
  // AllowWatch refuses first).
  WatchHub& watch_hub();

 private:
  // Counts the call and hands its status to gRPC.
  struct Finisher {
    void operator()(const absl::Status& status) const;
    CallRunner* runner;
    Rpc rpc;
    std::chrono::steady_clock::time_point started;
    Completion done;
  };

  absl::Status CheckPermission(const grpc::ServerContextBase& context, Rpc rpc,
                               absl::string_view ns);
  BoundedExecutor* ExecutorFor(Rpc rpc) const;

  CacheHandler& handler_;
  RpcMetrics& metrics_;
  BoundedExecutor* const storage_;
  BoundedExecutor& namespace_ops_;
  auth::Authorizer* const authorizer_;
  WatchHub* const watch_hub_;
};

}  // namespace larder::server

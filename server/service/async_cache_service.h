// AsyncCacheService: the larder.v1.Cache gRPC service on completion queues (gRPC's async API),
// what larderd serves by default (--grpc-api=async). Every unary call goes through CallRunner,
// exactly as on the callback API (CacheService); Watch is an AsyncWatchStream. The difference is
// who runs gRPC's side: a few threads of larderd's own, one per queue (QueueThreads), each
// polling the sockets and running the calls it receives, instead of gRPC's callback threads
// handing calls to one another. A call whose engine answers on another thread (the storage
// executor; the Redis pipe's I/O thread for Get and MultiGet) is finished from its queue's
// thread (TaskQueue). Each call's request and response live on one protobuf arena whose first
// block is inside the call.
//
//   AsyncCacheService service(handler, rpc_metrics, storage.get(), namespace_ops);
//   builder.RegisterService(service.service());  threads.AddTo(builder, 2);
//   server = builder.BuildAndStart();  service.AwaitCalls(threads.queues());  threads.Start();
#pragma once

#include <memory>
#include <vector>

#include "grpcpp/completion_queue.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/service/async_tag.h"
#include "server/service/call_runner.h"

namespace larder::server {

class AsyncCacheService {
 public:
  // As CallRunner's constructor; all referents must outlive the service.
  AsyncCacheService(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* storage,
                    BoundedExecutor& namespace_ops, auth::Authorizer* authorizer = nullptr,
                    WatchHub* watch_hub = nullptr)
      : runner_(handler, metrics, storage, namespace_ops, authorizer, watch_hub) {}

  grpc::Service* service() { return &service_; }
  // Requests the first calls of every method on every queue; each call, once it comes, requests
  // the next. Call once, after the server started.
  void AwaitCalls(const std::vector<std::unique_ptr<ServedQueue>>& queues);

 private:
  v1::Cache::AsyncService service_;
  CallRunner runner_;
};

}  // namespace larder::server

// CacheService: the larder.v1.Cache gRPC service on gRPC's callback API, a thin shell over
// CallRunner (which says where each call runs, how it is authorized and counted). Requests and
// responses live on one protobuf arena per call (ArenaMessageAllocator). larderd serves this
// with --grpc-api=callback; AsyncCacheService is the completion-queue equivalent.
//
//   CacheService service(handler, rpc_metrics, storage.get(), namespace_ops);  // storage may be
//   null builder.RegisterService(&service);
#pragma once

#include "larder/v1/cache.grpc.pb.h"
#include "server/auth/authorizer.h"
#include "server/metrics/rpc_metrics.h"
#include "server/service/arena_message_allocator.h"
#include "server/service/bounded_executor.h"
#include "server/service/cache_handler.h"
#include "server/service/call_runner.h"
#include "server/service/watch_hub.h"

namespace larder::server {

class CacheService final : public v1::Cache::CallbackService {
 public:
  // `storage` null means single-key and batch calls run inline; `authorizer` null means every
  // caller may do everything; `watch_hub` null means Watch answers UNIMPLEMENTED. All referents
  // must outlive the service.
  CacheService(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* storage,
               BoundedExecutor& namespace_ops, auth::Authorizer* authorizer = nullptr,
               WatchHub* watch_hub = nullptr);

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context, const v1::SetRequest* request,
                                v1::SetResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* Touch(grpc::CallbackServerContext* context,
                                  const v1::TouchRequest* request,
                                  v1::TouchResponse* response) override;
  grpc::ServerUnaryReactor* MultiGet(grpc::CallbackServerContext* context,
                                     const v1::MultiGetRequest* request,
                                     v1::MultiGetResponse* response) override;
  grpc::ServerUnaryReactor* MultiSet(grpc::CallbackServerContext* context,
                                     const v1::MultiSetRequest* request,
                                     v1::MultiSetResponse* response) override;
  grpc::ServerUnaryReactor* Invalidate(grpc::CallbackServerContext* context,
                                       const v1::InvalidateRequest* request,
                                       v1::InvalidateResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const v1::StatsRequest* request,
                                  v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* Lease(grpc::CallbackServerContext* context,
                                  const v1::LeaseRequest* request,
                                  v1::LeaseResponse* response) override;
  // Lists namespaces with their counts, a page at a time; needs admin on the whole server. Runs
  // on the namespace executor, like Stats.
  grpc::ServerUnaryReactor* Namespaces(grpc::CallbackServerContext* context,
                                       const v1::NamespacesRequest* request,
                                       v1::NamespacesResponse* response) override;
  // A stream of the namespace's changes (WatchHub, WatchStream); needs read permission.
  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* context,
                                                  const v1::WatchRequest* request) override;

 private:
  // Runs the call through the runner; its reactor finishes it.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, Rpc rpc,
                                CallRunner::HandlerMethod<Request, Response> method,
                                const Request* request, Response* response);

  // Arena blocks kept inside each call: enough for a single-key call, and for a batch of about
  // 16 keys (larger batches take further arena blocks from the heap).
  static constexpr size_t kSingleCallBytes = 768;
  static constexpr size_t kBatchCallBytes = 8192;
  template <typename Request, typename Response>
  using SingleAllocator = ArenaMessageAllocator<Request, Response, kSingleCallBytes>;
  template <typename Request, typename Response>
  using BatchAllocator = ArenaMessageAllocator<Request, Response, kBatchCallBytes>;

  CallRunner runner_;
  SingleAllocator<v1::GetRequest, v1::GetResponse> get_allocator_;
  SingleAllocator<v1::SetRequest, v1::SetResponse> set_allocator_;
  SingleAllocator<v1::DeleteRequest, v1::DeleteResponse> delete_allocator_;
  SingleAllocator<v1::TouchRequest, v1::TouchResponse> touch_allocator_;
  BatchAllocator<v1::MultiGetRequest, v1::MultiGetResponse> multi_get_allocator_;
  BatchAllocator<v1::MultiSetRequest, v1::MultiSetResponse> multi_set_allocator_;
  SingleAllocator<v1::InvalidateRequest, v1::InvalidateResponse> invalidate_allocator_;
  SingleAllocator<v1::StatsRequest, v1::StatsResponse> stats_allocator_;
  SingleAllocator<v1::LeaseRequest, v1::LeaseResponse> lease_allocator_;
  BatchAllocator<v1::NamespacesRequest, v1::NamespacesResponse> namespaces_allocator_;
};

}  // namespace larder::server

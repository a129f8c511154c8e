// CacheService: the larder.v1.Cache gRPC service, a thin shell over CacheHandler using the
// callback API. Calls run inline on gRPC's threads when the engine never blocks (memory), and
// on a BoundedExecutor when it may (RocksDB, Redis), so a callback thread never waits on I/O.
// Every call is counted in RpcMetrics by method, status code and latency.
//
//   CacheService service(handler, rpc_metrics, executor.get());  // executor may be null
//   builder.RegisterService(&service);
#pragma once

#include "larder/v1/cache.grpc.pb.h"
#include "server/metrics/rpc_metrics.h"
#include "server/service/bounded_executor.h"
#include "server/service/cache_handler.h"

namespace larder::server {

class CacheService final : public v1::Cache::CallbackService {
 public:
  // `executor` null means every call runs inline. All referents must outlive the service.
  CacheService(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* executor)
      : handler_(handler), metrics_(metrics), executor_(executor) {}

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

 private:
  template <typename Request, typename Response>
  using HandlerMethod = absl::Status (CacheHandler::*)(const Request&, Response&);

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, Rpc rpc,
                                HandlerMethod<Request, Response> method, const Request* request,
                                Response* response);

  CacheHandler& handler_;
  RpcMetrics& metrics_;
  BoundedExecutor* const executor_;
};

}  // namespace larder::server

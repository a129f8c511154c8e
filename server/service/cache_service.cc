#include "server/service/cache_service.h"

#include <chrono>

#include "server/service/watch_stream.h"

namespace larder::server {
namespace {

void FinishReactor(void* reactor, const grpc::Status& status) {
  static_cast<grpc::ServerUnaryReactor*>(reactor)->Finish(status);
}

}  // namespace

CacheService::CacheService(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* storage,
                           BoundedExecutor& namespace_ops, auth::Authorizer* authorizer,
                           WatchHub* watch_hub)
    : runner_(handler, metrics, storage, namespace_ops, authorizer, watch_hub) {
  SetMessageAllocatorFor_Get(&get_allocator_);
  SetMessageAllocatorFor_Set(&set_allocator_);
  SetMessageAllocatorFor_Delete(&delete_allocator_);
  SetMessageAllocatorFor_Touch(&touch_allocator_);
  SetMessageAllocatorFor_MultiGet(&multi_get_allocator_);
  SetMessageAllocatorFor_MultiSet(&multi_set_allocator_);
  SetMessageAllocatorFor_Invalidate(&invalidate_allocator_);
  SetMessageAllocatorFor_Stats(&stats_allocator_);
  SetMessageAllocatorFor_Lease(&lease_allocator_);
  SetMessageAllocatorFor_Namespaces(&namespaces_allocator_);
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* CacheService::Run(grpc::CallbackServerContext* context, Rpc rpc,
                                            CallRunner::HandlerMethod<Request, Response> method,
                                            const Request* request, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  runner_.Run(*context, Cancellation::kObservable, rpc, method, *request, *response,
              Completion{reactor, &FinishReactor});
  return reactor;
}

grpc::ServerUnaryReactor* CacheService::Get(grpc::CallbackServerContext* context,
                                            const v1::GetRequest* request,
                                            v1::GetResponse* response) {
  return Run(context, Rpc::kGet, &CacheHandler::Get, request, response);
}

grpc::ServerUnaryReactor* CacheService::Set(grpc::CallbackServerContext* context,
                                            const v1::SetRequest* request,
                                            v1::SetResponse* response) {
  return Run(context, Rpc::kSet, &CacheHandler::Set, request, response);
}

grpc::ServerUnaryReactor* CacheService::Delete(grpc::CallbackServerContext* context,
                                               const v1::DeleteRequest* request,
                                               v1::DeleteResponse* response) {
  return Run(context, Rpc::kDelete, &CacheHandler::Delete, request, response);
}

grpc::ServerUnaryReactor* CacheService::Touch(grpc::CallbackServerContext* context,
                                              const v1::TouchRequest* request,
                                              v1::TouchResponse* response) {
  return Run(context, Rpc::kTouch, &CacheHandler::Touch, request, response);
}

grpc::ServerUnaryReactor* CacheService::MultiGet(grpc::CallbackServerContext* context,
                                                 const v1::MultiGetRequest* request,
                                                 v1::MultiGetResponse* response) {
  return Run(context, Rpc::kMultiGet, &CacheHandler::MultiGet, request, response);
}

grpc::ServerUnaryReactor* CacheService::MultiSet(grpc::CallbackServerContext* context,
                                                 const v1::MultiSetRequest* request,
                                                 v1::MultiSetResponse* response) {
  return Run(context, Rpc::kMultiSet, &CacheHandler::MultiSet, request, response);
}

grpc::ServerUnaryReactor* CacheService::Invalidate(grpc::CallbackServerContext* context,
                                                   const v1::InvalidateRequest* request,
                                                   v1::InvalidateResponse* response) {
  return Run(context, Rpc::kInvalidate, &CacheHandler::Invalidate, request, response);
}

grpc::ServerUnaryReactor* CacheService::Stats(grpc::CallbackServerContext* context,
                                              const v1::StatsRequest* request,
                                              v1::StatsResponse* response) {
  return Run(context, Rpc::kStats, &CacheHandler::Stats, request, response);
}

grpc::ServerUnaryReactor* CacheService::Lease(grpc::CallbackServerContext* context,
                                              const v1::LeaseRequest* request,
                                              v1::LeaseResponse* response) {
  return Run(context, Rpc::kLease, &CacheHandler::Lease, request, response);
}

grpc::ServerUnaryReactor* CacheService::Namespaces(grpc::CallbackServerContext* context,
                                                   const v1::NamespacesRequest* request,
                                                   v1::NamespacesResponse* response) {
  return Run(context, Rpc::kNamespaces, &CacheHandler::Namespaces, request, response);
}

grpc::ServerWriteReactor<v1::WatchEvent>* CacheService::Watch(grpc::CallbackServerContext* context,
                                                              const v1::WatchRequest* request) {
  const auto started = std::chrono::steady_clock::now();
  const absl::Status allowed = runner_.AllowWatch(*context, *request);
  absl::Status outcome;
  grpc::ServerWriteReactor<v1::WatchEvent>* stream =
      WatchStream::Open(runner_.watch_hub(), request->namespace_(), allowed, outcome);
  runner_.RecordWatch(outcome, started);
  return stream;
}

}  // namespace larder::server

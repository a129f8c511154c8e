#include "server/service/cache_service.h"

#include <chrono>
#include <type_traits>

#include "grpc/grpc_security_constants.h"
#include "server/service/status_conversion.h"
#include "server/service/validation.h"
#include "server/service/watch_stream.h"

namespace larder::server {
namespace {

bool IsEngineFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kDataLoss;
}

// Why a queued call must not run any more: its client gave up, or its deadline passed.
absl::Status AbandonedWhileQueued(grpc::CallbackServerContext& context) {
  if (context.IsCancelled()) {
    return absl::CancelledError("cancelled while waiting for a storage thread; not run");
  }
  if (context.deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError(
        "deadline passed while waiting for a storage thread; not run");
  }
  return absl::OkStatus();
}

// The namespace a request works on; "" for server-wide calls.
template <typename Request>
absl::string_view NamespaceOf(const Request& request) {
  return request.namespace_();
}
absl::string_view NamespaceOf(const v1::NamespacesRequest&) { return ""; }

// The permission an RPC needs on its namespace; server-wide Stats and listing the namespaces
// need admin (on the whole server: a grant on "*").
auth::Permission PermissionFor(Rpc rpc, absl::string_view ns) {
  switch (rpc) {
    case Rpc::kNamespaces:
      return auth::Permission::kAdmin;
    case Rpc::kGet:
    case Rpc::kMultiGet:
    case Rpc::kWatch:
      return auth::Permission::kRead;
    case Rpc::kStats:
      return ns.empty() ? auth::Permission::kAdmin : auth::Permission::kRead;
    case Rpc::kInvalidate:
      return auth::Permission::kInvalidate;
    default:
      return auth::Permission::kWrite;
  }
}

absl::string_view ToView(const grpc::string_ref& ref) {
  return absl::string_view(ref.data(), ref.size());
}

// The credentials of a call: its authorization metadata and, without one, the names of a
// verified client certificate.
auth::Caller CallerOf(const grpc::CallbackServerContext& context) {
  auth::Caller caller;
  auto header = context.client_metadata().find("authorization");
  if (header != context.client_metadata().end()) {
    caller.authorization = ToView(header->second);
    return caller;
  }
  std::shared_ptr<const grpc::AuthContext> peer = context.auth_context();
  if (peer == nullptr || !peer->IsPeerAuthenticated()) return caller;
  for (const grpc::string_ref& name : peer->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    caller.certificate_common_names.emplace_back(ToView(name));
  }
  for (const grpc::string_ref& name : peer->FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    caller.certificate_dns_names.emplace_back(ToView(name));
  }
  return caller;
}

}  // namespace

CacheService::CacheService(CacheHandler& handler, RpcMetrics& metrics, BoundedExecutor* storage,
                           BoundedExecutor& namespace_ops, auth::Authorizer* authorizer,
                           WatchHub* watch_hub)
    : handler_(handler),
      metrics_(metrics),
      storage_(storage),
      namespace_ops_(namespace_ops),
      authorizer_(authorizer),
      watch_hub_(watch_hub) {
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
                                            HandlerMethod<Request, Response> method,
                                            const Request* request, Response* response,
                                            BoundedExecutor* executor) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto started = std::chrono::steady_clock::now();
  auto finish = [this, rpc, reactor, started](const absl::Status& status) {
    if (IsEngineFailure(status.code())) metrics_.RecordEngineError();
    metrics_.Record(rpc, status.code(),
                    absl::FromChrono(std::chrono::steady_clock::now() - started));
    reactor->Finish(ToGrpcStatus(status));
  };
  if (authorizer_ != nullptr) {
    const auth::Caller caller = CallerOf(*context);
    const absl::string_view ns = NamespaceOf(*request);
    absl::Status allowed = authorizer_->Check(caller, ns, PermissionFor(rpc, ns));
    // A lease returns the entry and grants the right to store it: it needs read and write.
    if (allowed.ok() && rpc == Rpc::kLease) {
      allowed = authorizer_->Check(caller, ns, auth::Permission::kRead);
    }
    if (!allowed.ok()) {
      finish(allowed);
      return reactor;
    }
  }
  if (executor == nullptr) {
    finish((handler_.*method)(*request, *response));
    return reactor;
  }
  // An engine that can wait for its I/O without a thread answers Gets from its own thread.
  if constexpr (std::is_same_v<Request, v1::GetRequest>) {
    CacheHandler::Done done = finish;
    if (handler_.GetAsync(*request, *response, done)) return reactor;
  } else if constexpr (std::is_same_v<Request, v1::MultiGetRequest>) {
    CacheHandler::Done done = finish;
    if (handler_.MultiGetAsync(*request, *response, done)) return reactor;
  }
  // Captures the handler rather than `this`: GCC 12's -fsanitize=vptr checks `this->handler_` in
  // this lambda against the wrong address and aborts a correct larderd (ASan+UBSan build).
  auto work = [handler = &handler_, method, request, response, context, finish] {
    absl::Status abandoned = AbandonedWhileQueued(*context);
    finish(abandoned.ok() ? (handler->*method)(*request, *response) : abandoned);
  };
  if (!executor->TrySubmit(work)) {
    finish(absl::UnavailableError("server overloaded: storage queue is full; retry later"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* CacheService::Get(grpc::CallbackServerContext* context,
                                            const v1::GetRequest* request,
                                            v1::GetResponse* response) {
  return Run(context, Rpc::kGet, &CacheHandler::Get, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::Set(grpc::CallbackServerContext* context,
                                            const v1::SetRequest* request,
                                            v1::SetResponse* response) {
  return Run(context, Rpc::kSet, &CacheHandler::Set, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::Delete(grpc::CallbackServerContext* context,
                                               const v1::DeleteRequest* request,
                                               v1::DeleteResponse* response) {
  return Run(context, Rpc::kDelete, &CacheHandler::Delete, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::Touch(grpc::CallbackServerContext* context,
                                              const v1::TouchRequest* request,
                                              v1::TouchResponse* response) {
  return Run(context, Rpc::kTouch, &CacheHandler::Touch, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::MultiGet(grpc::CallbackServerContext* context,
                                                 const v1::MultiGetRequest* request,
                                                 v1::MultiGetResponse* response) {
  return Run(context, Rpc::kMultiGet, &CacheHandler::MultiGet, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::MultiSet(grpc::CallbackServerContext* context,
                                                 const v1::MultiSetRequest* request,
                                                 v1::MultiSetResponse* response) {
  return Run(context, Rpc::kMultiSet, &CacheHandler::MultiSet, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::Invalidate(grpc::CallbackServerContext* context,
                                                   const v1::InvalidateRequest* request,
                                                   v1::InvalidateResponse* response) {
  return Run(context, Rpc::kInvalidate, &CacheHandler::Invalidate, request, response,
             &namespace_ops_);
}

grpc::ServerUnaryReactor* CacheService::Stats(grpc::CallbackServerContext* context,
                                              const v1::StatsRequest* request,
                                              v1::StatsResponse* response) {
  return Run(context, Rpc::kStats, &CacheHandler::Stats, request, response, &namespace_ops_);
}

grpc::ServerUnaryReactor* CacheService::Lease(grpc::CallbackServerContext* context,
                                              const v1::LeaseRequest* request,
                                              v1::LeaseResponse* response) {
  return Run(context, Rpc::kLease, &CacheHandler::Lease, request, response, storage_);
}

grpc::ServerUnaryReactor* CacheService::Namespaces(grpc::CallbackServerContext* context,
                                                   const v1::NamespacesRequest* request,
                                                   v1::NamespacesResponse* response) {
  return Run(context, Rpc::kNamespaces, &CacheHandler::Namespaces, request, response,
             &namespace_ops_);
}

grpc::ServerWriteReactor<v1::WatchEvent>* CacheService::Watch(grpc::CallbackServerContext* context,
                                                              const v1::WatchRequest* request) {
  const auto started = std::chrono::steady_clock::now();
  absl::Status allowed = ValidateNamespace(request->namespace_(), "namespace");
  if (allowed.ok() && authorizer_ != nullptr) {
    allowed = authorizer_->Check(CallerOf(*context), request->namespace_(),
                                 PermissionFor(Rpc::kWatch, request->namespace_()));
  }
  if (allowed.ok() && watch_hub_ == nullptr) {
    allowed = absl::UnimplementedError("Watch: this server does not stream changes");
  }
  static WatchHub no_hub{WatchOptions{}};
  absl::Status outcome;
  grpc::ServerWriteReactor<v1::WatchEvent>* stream = WatchStream::Open(
      watch_hub_ != nullptr ? *watch_hub_ : no_hub, request->namespace_(), allowed, outcome);
  // Counted when it opens (OK) or is refused; how long a stream lasts is not a latency.
  metrics_.Record(Rpc::kWatch, outcome.code(),
                  absl::FromChrono(std::chrono::steady_clock::now() - started));
  return stream;
}

}  // namespace larder::server

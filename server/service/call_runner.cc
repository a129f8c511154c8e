#include "server/service/call_runner.h"

#include <type_traits>

#include "grpc/grpc_security_constants.h"
#include "larder/common/status_macros.h"
#include "server/service/status_conversion.h"
#include "server/service/validation.h"

namespace larder::server {
namespace {

bool IsEngineFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kDataLoss;
}

// Why a queued call must not run any more: its client gave up, or its deadline passed.
absl::Status AbandonedWhileQueued(const grpc::ServerContextBase& context,
                                  Cancellation cancellation) {
  if (cancellation == Cancellation::kObservable && context.IsCancelled()) {
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

}  // namespace

auth::Caller CallerOf(const grpc::ServerContextBase& context) {
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

void CallRunner::Finisher::operator()(const absl::Status& status) const {
  if (IsEngineFailure(status.code())) runner->metrics_.RecordEngineError();
  runner->metrics_.Record(rpc, status.code(),
                          absl::FromChrono(std::chrono::steady_clock::now() - started));
  done.finish(done.call, ToGrpcStatus(status));
}

absl::Status CallRunner::CheckPermission(const grpc::ServerContextBase& context, Rpc rpc,
                                         absl::string_view ns) {
  if (authorizer_ == nullptr) return absl::OkStatus();
  const auth::Caller caller = CallerOf(context);
  absl::Status allowed = authorizer_->Check(caller, ns, PermissionFor(rpc, ns));
  // A lease returns the entry and grants the right to store it: it needs read and write.
  if (allowed.ok() && rpc == Rpc::kLease) {
    allowed = authorizer_->Check(caller, ns, auth::Permission::kRead);
  }
  return allowed;
}

BoundedExecutor* CallRunner::ExecutorFor(Rpc rpc) const {
  switch (rpc) {
    case Rpc::kInvalidate:
    case Rpc::kStats:
    case Rpc::kNamespaces:
      return &namespace_ops_;
    default:
      return storage_;
  }
}

template <typename Request, typename Response>
void CallRunner::Run(grpc::ServerContextBase& context, Cancellation cancellation, Rpc rpc,
                     HandlerMethod<Request, Response> method, const Request& request,
                     Response& response, Completion done) {
  const Finisher finish{this, rpc, std::chrono::steady_clock::now(), done};
  if (absl::Status allowed = CheckPermission(context, rpc, NamespaceOf(request)); !allowed.ok()) {
    return finish(allowed);
  }
  BoundedExecutor* executor = ExecutorFor(rpc);
  if (executor == nullptr) return finish((handler_.*method)(request, response));
  // An engine that can wait for its I/O without a thread answers Gets from its own thread.
  if constexpr (std::is_same_v<Request, v1::GetRequest>) {
    CacheHandler::Done async_done = finish;
    if (handler_.GetAsync(request, response, async_done)) return;
  } else if constexpr (std::is_same_v<Request, v1::MultiGetRequest>) {
    CacheHandler::Done async_done = finish;
    if (handler_.MultiGetAsync(request, response, async_done)) return;
  }
  // Captures the handler rather than `this`: GCC 12's -fsanitize=vptr checks `this->handler_` in
  // such a lambda against the wrong address and aborts a correct larderd (ASan+UBSan build).
  auto work = [handler = &handler_, method, &request, &response, &context, cancellation, finish] {
    absl::Status abandoned = AbandonedWhileQueued(context, cancellation);
    finish(abandoned.ok() ? (handler->*method)(request, response) : abandoned);
  };
  if (!executor->TrySubmit(work)) {
    finish(absl::UnavailableError("server overloaded: storage queue is full; retry later"));
  }
}

absl::Status CallRunner::AllowWatch(const grpc::ServerContextBase& context,
                                    const v1::WatchRequest& request) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(CheckPermission(context, Rpc::kWatch, request.namespace_()));
  if (watch_hub_ == nullptr) {
    return absl::UnimplementedError("Watch: this server does not stream changes");
  }
  return absl::OkStatus();
}

void CallRunner::RecordWatch(const absl::Status& outcome,
                             std::chrono::steady_clock::time_point started) {
  metrics_.Record(Rpc::kWatch, outcome.code(),
                  absl::FromChrono(std::chrono::steady_clock::now() - started));
}

WatchHub& CallRunner::watch_hub() {
  static WatchHub no_hub{WatchOptions{}};
  return watch_hub_ != nullptr ? *watch_hub_ : no_hub;
}

#define LARDER_RUN_INSTANCE(Name)                                                     \
  template void CallRunner::Run<v1::Name##Request, v1::Name##Response>(               \
      grpc::ServerContextBase&, Cancellation, Rpc,                                    \
      HandlerMethod<v1::Name##Request, v1::Name##Response>, const v1::Name##Request&, \
      v1::Name##Response&, Completion);
LARDER_RUN_INSTANCE(Get)
LARDER_RUN_INSTANCE(Set)
LARDER_RUN_INSTANCE(Delete)
LARDER_RUN_INSTANCE(Touch)
LARDER_RUN_INSTANCE(MultiGet)
LARDER_RUN_INSTANCE(MultiSet)
LARDER_RUN_INSTANCE(Invalidate)
LARDER_RUN_INSTANCE(Stats)
LARDER_RUN_INSTANCE(Lease)
LARDER_RUN_INSTANCE(Namespaces)
#undef LARDER_RUN_INSTANCE

}  // namespace larder::server

// StartUnaryCall: one client call over gRPC's callback API — attempts carrying the auth token,
// retries after a pause on the timer thread, the deadline, status conversion and metrics
// (denials counted per namespace) — without a thread per call.
//
//   StartUnaryCall<v1::GetRequest, v1::GetResponse>(
//       core, "Get", &Rpcs::Get, Idempotency::kIdempotent, std::move(request),
//       [](absl::Status status, v1::GetResponse& response) { … });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/src/client_core.h"
#include "client/src/status_conversion.h"
#include "grpcpp/client_context.h"

namespace larder::client::internal {

template <typename Request, typename Response>
using RpcMethod = void (Rpcs::*)(grpc::ClientContext*, const Request*, Response*,
                                 std::function<void(grpc::Status)>);

// Called once with the call's final status and the last response (meaningful when OK).
template <typename Response>
using CallDone = std::function<void(absl::Status, Response&)>;

// One call; owns its request, response and the context of every attempt. Kept alive by the
// callbacks gRPC and the timer hold.
template <typename Request, typename Response>
class UnaryCall : public std::enable_shared_from_this<UnaryCall<Request, Response>> {
 public:
  UnaryCall(ClientCore& core, const char* method_name, RpcMethod<Request, Response> method,
            Idempotency idempotency, Request request, CallDone<Response> done)
      : core_(core),
        method_name_(method_name),
        method_(method),
        idempotency_(idempotency),
        request_(std::move(request)),
        done_(std::move(done)),
        deadline_(absl::Now() + core.options().deadline),
        started_(core.clock().Now()) {}

  void Start() {
    core_.CallStarted();
    Attempt();
  }

 private:
  void Attempt() {
    contexts_.push_back(std::make_unique<grpc::ClientContext>());
    grpc::ClientContext& context = *contexts_.back();
    context.set_deadline(absl::ToChronoTime(deadline_));
    core_.Authorize(context);
    response_.Clear();
    auto self = this->shared_from_this();
    (core_.rpcs().*method_)(&context, &request_, &response_,
                            [self](grpc::Status status) { self->OnAttemptDone(status); });
  }

  void OnAttemptDone(const grpc::Status& grpc_status) {
    absl::Status status =
        FromGrpcStatus(grpc_status, method_name_, core_.options().max_receive_message_bytes);
    const int attempts = static_cast<int>(contexts_.size());
    if (std::optional<absl::Time> retry_at =
            core_.RetryTime(status, idempotency_, attempts, deadline_)) {
      auto self = this->shared_from_this();
      core_.RunAt(*retry_at, [self] { self->Attempt(); });
      return;
    }
    core_.metrics().RecordRpc(method_name_, StatusCodeName(status.code()),
                              core_.clock().Now() - started_);
    if (IsDenial(status.code())) core_.metrics().RecordDenied(request_.namespace_(), status.code());
    ClientCore& core = core_;
    // Each context holds a reference to the channel. Dropped here, before the client may be
    // destroyed, so the channel is never destroyed on a gRPC callback thread (which would
    // stop the very thread running this callback).
    contexts_.clear();
    done_(std::move(status), response_);
    core.CallFinished();  // The last use of the client: it may be destroyed from here on.
  }

  ClientCore& core_;
  const char* const method_name_;
  const RpcMethod<Request, Response> method_;
  const Idempotency idempotency_;
  const Request request_;
  Response response_;
  CallDone<Response> done_;
  const absl::Time deadline_;
  const absl::Time started_;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
};

// Starts a call; `done` runs exactly once, on a gRPC or timer thread. A kAtMostOnce call is
// never retried: its first failure is final.
template <typename Request, typename Response>
void StartUnaryCall(ClientCore& core, const char* method_name, RpcMethod<Request, Response> method,
                    Idempotency idempotency, Request request, CallDone<Response> done) {
  std::make_shared<UnaryCall<Request, Response>>(core, method_name, method, idempotency,
                                                 std::move(request), std::move(done))
      ->Start();
}

}  // namespace larder::client::internal

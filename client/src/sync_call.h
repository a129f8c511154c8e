// SyncUnaryCall: one client call made on the calling thread with gRPC's blocking stub — the
// same attempts, auth token, deadline, retries, status conversion and metrics as StartUnaryCall
// (unary_call.h), for the synchronous Client methods. The calling thread drives the call itself
// (gRPC polls the connection on it), so a call costs no hand-off to a gRPC thread and back: on
// a 2-core machine that was most of a synchronous Get's CPU (docs/performance.md). Retries
// pause on the calling thread, which waits for the result anyway.
//
//   v1::GetResponse response;
//   absl::Status status = SyncUnaryCall(core, "Get", &SyncRpcs::Get, Idempotency::kIdempotent,
//                                       request, response);
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/src/client_core.h"
#include "client/src/status_conversion.h"
#include "grpcpp/client_context.h"

namespace larder::client::internal {

template <typename Request, typename Response>
using SyncRpcMethod = grpc::Status (SyncRpcs::*)(grpc::ClientContext*, const Request&, Response*);

// The call's final status; `response` holds the last attempt's response (meaningful when OK).
// A kAtMostOnce call is never retried: its first failure is final.
template <typename Request, typename Response>
absl::Status SyncUnaryCall(ClientCore& core, const char* method_name,
                           SyncRpcMethod<Request, Response> method, Idempotency idempotency,
                           const Request& request, Response& response) {
  core.CallStarted();
  const absl::Time deadline = absl::Now() + core.options().deadline;
  const absl::Time started = core.clock().Now();
  absl::Status status;
  for (int attempts = 1;; ++attempts) {
    {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(deadline));
      core.Authorize(context);
      response.Clear();
      status = FromGrpcStatus((core.sync_rpcs().*method)(&context, request, &response), method_name,
                              core.options().max_receive_message_bytes);
    }
    const std::optional<absl::Time> retry_at =
        core.RetryTime(status, idempotency, attempts, deadline);
    if (!retry_at.has_value()) break;
    absl::SleepFor(*retry_at - absl::Now());
  }
  core.metrics().RecordRpc(method_name, StatusCodeName(status.code()),
                           core.clock().Now() - started);
  if (IsDenial(status.code())) core.metrics().RecordDenied(request.namespace_(), status.code());
  core.CallFinished();
  return status;
}

}  // namespace larder::client::internal

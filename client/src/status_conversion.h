// grpc::Status -> absl::Status for the client: the only place the SDK converts status codes.
//
//   absl::Status status = FromGrpcStatus(grpc_status, "Get");
//   // kDeadlineExceeded / kUnavailable / kInvalidArgument …, message "larder Get: …"
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace larder::client::internal {

// The same code (gRPC and Abseil share the numbers), the message prefixed with the method.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view method);

// "OK", "UNAVAILABLE", "DEADLINE_EXCEEDED", … (the metric label of a code).
std::string StatusCodeName(absl::StatusCode code);

}  // namespace larder::client::internal

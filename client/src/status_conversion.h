// grpc::Status -> absl::Status for the client: the only place the SDK converts status codes.
//
//   absl::Status status = FromGrpcStatus(grpc_status, "Get", options.max_receive_message_bytes);
//   // kDeadlineExceeded / kUnavailable / kInvalidArgument …, message "larder Get: …"
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace larder::client::internal {

// The same code (gRPC and Abseil share the numbers), the message prefixed with the method. A
// response over the client's receive limit (`max_receive_message_bytes`) is kResourceExhausted
// whose message names ClientOptions::max_receive_message_bytes and its value.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view method,
                            int64_t max_receive_message_bytes);

// "OK", "UNAVAILABLE", "DEADLINE_EXCEEDED", … (the metric label of a code).
std::string StatusCodeName(absl::StatusCode code);

}  // namespace larder::client::internal

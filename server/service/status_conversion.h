// The one place where absl::Status and grpc::Status meet (their codes are the same numbers).
//
//   reactor->Finish(ToGrpcStatus(handler.Get(*request, *response)));
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace larder::server {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace larder::server

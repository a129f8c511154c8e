// larderctl's `health` probe: grpc.health.v1.Health/Check over a channel built from the same
// target and TLS options as the SDK's (the health service needs no token). The two messages are
// tiny, so they are encoded by hand over gRPC's generic stub.
//
//   absl::StatusOr<std::string> status = CheckHealth(global, "larder.v1.Cache");  // "SERVING"
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ctl/args.h"

namespace larder::ctl {

// "UNKNOWN", "SERVING", "NOT_SERVING" or "SERVICE_UNKNOWN"; a failed call is its status.
absl::StatusOr<std::string> CheckHealth(const GlobalOptions& global, const std::string& service);

// The contents of a file, or kInvalidArgument naming it.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace larder::ctl

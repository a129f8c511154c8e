// Probes of the standard gRPC services larderd serves, for end-to-end tests: grpc.health.v1
// Health/Check and the server reflection service. The messages are tiny, so they are encoded
// by hand and sent through gRPC's generic stub (no generated code needed).
//
//   absl::StatusOr<HealthState> state = CheckHealth(channel, "larder.v1.Cache");
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace larder::testing {

enum class HealthState { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// Calls grpc.health.v1.Health/Check for `service`. A gRPC error becomes the returned status.
absl::StatusOr<HealthState> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service,
                                        absl::Duration timeout = absl::Seconds(5));

// Asks the reflection service (v1alpha) to list services; returns the raw response bytes,
// in which each service name appears verbatim.
absl::StatusOr<std::string> ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel,
                                                     absl::Duration timeout = absl::Seconds(5));

}  // namespace larder::testing

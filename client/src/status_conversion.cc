#include "client/src/status_conversion.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace larder::client::internal {
namespace {

// gRPC's words for a message over a receive limit: "Received message larger than max (N vs. M)".
// Seen by the client for its own limit; larderd's limit on requests reads the same, so the
// limit M tells which side refused.
bool OverClientReceiveLimit(const grpc::Status& status, int64_t max_receive_message_bytes) {
  const std::string& message = status.error_message();
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         absl::StrContains(message, "Received message larger than max") &&
         absl::StrContains(message, absl::StrCat(" vs. ", max_receive_message_bytes, ")"));
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view method,
                            int64_t max_receive_message_bytes) {
  if (status.ok()) return absl::OkStatus();
  if (OverClientReceiveLimit(status, max_receive_message_bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("larder ", method,
                     ": the response is larger than ClientOptions.max_receive_message_bytes (",
                     max_receive_message_bytes, " bytes): ", status.error_message()));
  }
  const int code = static_cast<int>(status.error_code());
  const auto converted = code >= 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated)
                             ? static_cast<absl::StatusCode>(code)
                             : absl::StatusCode::kUnknown;
  return absl::Status(converted, absl::StrCat("larder ", method, ": ", status.error_message()));
}

std::string StatusCodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace larder::client::internal

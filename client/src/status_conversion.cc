#include "client/src/status_conversion.h"

#include "absl/strings/str_cat.h"

namespace larder::client::internal {

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view method) {
  if (status.ok()) return absl::OkStatus();
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

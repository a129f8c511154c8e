// Request validation for larderd: every limit of the larder.v1 API, checked before anything
// touches storage, with errors that name the field and the limit.
//
//   LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), "key"));
//   // -> INVALID_ARGUMENT "key: must be 1-4096 bytes, got 5000"
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "larder/common/limits.h"

namespace larder::server {

// 1-128 characters of [A-Za-z0-9_.-] (limits::kMaxNamespaceBytes).
absl::Status ValidateNamespace(absl::string_view ns, absl::string_view field);
// 1-4096 bytes, any bytes (limits::kMaxKeyBytes).
absl::Status ValidateKey(absl::string_view key, absl::string_view field);
// At most max_value_bytes.
absl::Status ValidateValue(absl::string_view value, int64_t max_value_bytes,
                           absl::string_view field);
// Each tag 1-256 bytes, at most 32 tags (limits::kMaxTagBytes, limits::kMaxTagsPerEntry).
absl::Status ValidateTags(const google::protobuf::RepeatedPtrField<std::string>& tags,
                          absl::string_view field);
// One tag: 1-256 bytes.
absl::Status ValidateTag(absl::string_view tag, absl::string_view field);
// 1-1000 items (limits::kMaxBatchItems).
absl::Status ValidateBatchSize(int size, absl::string_view field);

// The TTL a request asks for: `ttl` when present (it must be positive, a valid Duration, and at
// most max_ttl when max_ttl is positive), else default_ttl. Zero means "never expires".
absl::StatusOr<absl::Duration> EffectiveTtl(const google::protobuf::Duration* ttl,
                                            absl::Duration default_ttl, absl::Duration max_ttl,
                                            absl::string_view field);

}  // namespace larder::server

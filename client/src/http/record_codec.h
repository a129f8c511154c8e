// The bytes of a StoredResponse in larder: a versioned, length-prefixed record.
//
//   std::string bytes = larder::http::internal::EncodeRecord(stored);
//   absl::StatusOr<StoredResponse> back = larder::http::internal::DecodeRecord(bytes);
//
// Layout (integers big-endian): "LHR" and the format version '2', u16 status, i64 stored_at
// (Unix µs), i64 fresh_until (Unix µs), str etag, str variant, u32 header count, {str name, str
// value}*, str body; str = u32 length + bytes. Anything else — another version, truncated,
// trailing, or a record ValidateRecord refuses (record_validation.h) — is kDataLoss. Version '1'
// records (written before variants, without the variant string) are still read, with an empty
// variant: a stored response with Vary then never matches its base key and is looked up (and
// re-rendered) as a variant, so no request gets another variant's response.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/http/response.h"

namespace larder::http::internal {

// The format version this layer writes.
inline constexpr char kRecordVersion = '2';

// Encodes whatever it is given: callers store only records ValidateRecord accepts.
std::string EncodeRecord(const StoredResponse& stored);
// The record in `bytes`, checked by ValidateRecord; kDataLoss saying why not (never quoting a
// header value). Cost: O(bytes).
absl::StatusOr<StoredResponse> DecodeRecord(absl::string_view bytes);

}  // namespace larder::http::internal

#include "server/service/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"

namespace larder::server {
namespace {

bool IsNamespaceChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Durations of google.protobuf.Duration: |seconds| <= 315576000000, |nanos| < 1e9, same sign.
bool IsWellFormed(const google::protobuf::Duration& d) {
  constexpr int64_t kMaxSeconds = 315576000000;
  if (d.seconds() > kMaxSeconds || d.seconds() < -kMaxSeconds) return false;
  if (d.nanos() >= 1000000000 || d.nanos() <= -1000000000) return false;
  return !(d.seconds() > 0 && d.nanos() < 0) && !(d.seconds() < 0 && d.nanos() > 0);
}

}  // namespace

absl::Status ValidateNamespace(absl::string_view ns, absl::string_view field) {
  if (ns.empty() || ns.size() > limits::kMaxNamespaceBytes) {
    return Invalid(field,
                   absl::StrCat("must be 1-", limits::kMaxNamespaceBytes,
                                " characters of [A-Za-z0-9_.-], got ", ns.size(), " characters"));
  }
  for (char c : ns) {
    if (!IsNamespaceChar(c)) {
      return Invalid(field, absl::StrCat("must be 1-", limits::kMaxNamespaceBytes,
                                         " characters of [A-Za-z0-9_.-], got byte 0x",
                                         absl::Hex(static_cast<unsigned char>(c))));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(absl::string_view key, absl::string_view field) {
  if (key.empty() || key.size() > limits::kMaxKeyBytes) {
    return Invalid(field,
                   absl::StrCat("must be 1-", limits::kMaxKeyBytes, " bytes, got ", key.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateValue(absl::string_view value, int64_t max_value_bytes,
                           absl::string_view field) {
  if (static_cast<int64_t>(value.size()) > max_value_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_value_bytes,
                                       " bytes (--max-value-bytes), got ", value.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateTags(const google::protobuf::RepeatedPtrField<std::string>& tags,
                          absl::string_view field) {
  if (tags.size() > limits::kMaxTagsPerEntry) {
    return Invalid(field,
                   absl::StrCat("at most ", limits::kMaxTagsPerEntry, " tags, got ", tags.size()));
  }
  for (int i = 0; i < tags.size(); ++i) {
    LARDER_RETURN_IF_ERROR(ValidateTag(tags.Get(i), absl::StrCat(field, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateTag(absl::string_view tag, absl::string_view field) {
  if (tag.empty() || tag.size() > limits::kMaxTagBytes) {
    return Invalid(field,
                   absl::StrCat("must be 1-", limits::kMaxTagBytes, " bytes, got ", tag.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatchSize(int size, absl::string_view field) {
  if (size < 1 || size > limits::kMaxBatchItems) {
    return Invalid(field,
                   absl::StrCat("must hold 1-", limits::kMaxBatchItems, " items, got ", size));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> EffectiveTtl(const google::protobuf::Duration* ttl,
                                            absl::Duration default_ttl, absl::Duration max_ttl,
                                            absl::string_view field) {
  if (ttl == nullptr) return default_ttl;
  if (!IsWellFormed(*ttl)) return Invalid(field, "is not a valid google.protobuf.Duration");
  const absl::Duration value = absl::Seconds(ttl->seconds()) + absl::Nanoseconds(ttl->nanos());
  if (value <= absl::ZeroDuration()) {
    return Invalid(field, absl::StrCat("must be positive, got ", absl::FormatDuration(value)));
  }
  if (max_ttl > absl::ZeroDuration() && value > max_ttl) {
    return Invalid(field, absl::StrCat("must be at most ", absl::FormatDuration(max_ttl),
                                       " (--max-ttl), got ", absl::FormatDuration(value)));
  }
  return value;
}

}  // namespace larder::server

#include "client/src/http/record_validation.h"

#include <algorithm>
#include <array>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "larder/http/headers.h"

namespace larder::http::internal {
namespace {

constexpr size_t kMaxShownName = 64;
// A variant is the 32 hex digits of a hash (variants.h).
constexpr size_t kMaxVariantBytes = 32;

// Fields this layer never stores (storable.cc drops or refuses them), so a record carrying one
// was not written by it.
constexpr absl::string_view kNeverStored[] = {
    "Connection",        "Keep-Alive", "Proxy-Connection", "TE",          "Trailer",
    "Transfer-Encoding", "Upgrade",    "Set-Cookie",       "Set-Cookie2", "Content-Length",
};

bool IsNeverStored(absl::string_view name) {
  for (const absl::string_view never : kNeverStored) {
    // Lengths first: most names differ in length from every entry, and the comparison is a call.
    if (name.size() == never.size() && HeaderNameEquals(name, never)) return true;
  }
  return false;
}

std::string Shown(absl::string_view name) {
  if (name.size() <= kMaxShownName) return std::string(name);
  return absl::StrCat(name.substr(0, kMaxShownName), "...");
}

absl::Status ValidateField(const Headers::Field& field, size_t index) {
  const auto& [name, value] = field;
  if (!IsToken(name)) {
    return absl::DataLossError(
        absl::StrCat("header #", index + 1, " has a name that is not a token"));
  }
  if (IsNeverStored(name)) {
    return absl::DataLossError(absl::StrCat("header ", Shown(name), " is never replayed"));
  }
  if (!IsFieldValue(value)) {
    return absl::DataLossError(
        absl::StrCat("the value of header ", Shown(name), " holds a control byte"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRecord(const StoredResponse& stored) {
  if (stored.response.status < 100 || stored.response.status > 599) {
    return absl::DataLossError("the status is outside 100-599");
  }
  if (stored.meta.variant.size() > kMaxVariantBytes ||
      !std::all_of(stored.meta.variant.begin(), stored.meta.variant.end(),
                   [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
    return absl::DataLossError(
        absl::StrCat("the variant is not 0-", kMaxVariantBytes, " hexadecimal digits"));
  }
  if (!IsFieldValue(stored.meta.etag)) {
    return absl::DataLossError("the stored ETag holds a control byte");
  }
  const std::vector<Headers::Field>& fields = stored.response.headers.fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (absl::Status valid = ValidateField(fields[i], i); !valid.ok()) return valid;
  }
  return absl::OkStatus();
}

}  // namespace larder::http::internal

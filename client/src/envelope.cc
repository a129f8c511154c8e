#include "client/src/envelope.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "larder/coder.h"

namespace larder::client::internal {
namespace {

constexpr char kMarker = static_cast<char>(0xCA);
constexpr char kVersion = 0x01;
constexpr size_t kHeaderSize = 10;

}  // namespace

std::string WrapEnvelope(std::optional<absl::Time> fresh_until, absl::string_view payload) {
  std::string stored;
  stored.reserve(kHeaderSize + payload.size());
  stored.push_back(kMarker);
  stored.push_back(kVersion);
  const int64_t micros = fresh_until.has_value() ? absl::ToUnixMicros(*fresh_until) : 0;
  larder::internal::AppendLittleEndian64(stored, static_cast<uint64_t>(micros));
  stored.append(payload.data(), payload.size());
  return stored;
}

absl::StatusOr<Envelope> UnwrapEnvelope(absl::string_view stored) {
  if (stored.size() < kHeaderSize || stored[0] != kMarker) {
    return absl::DataLossError("not a larder cached-function value");
  }
  if (stored[1] != kVersion) {
    return absl::DataLossError(
        absl::StrCat("unknown cached-value format version ", static_cast<int>(stored[1])));
  }
  const auto micros =
      static_cast<int64_t>(larder::internal::ReadLittleEndian64(stored.substr(2, 8)));
  Envelope envelope;
  if (micros != 0) envelope.fresh_until = absl::FromUnixMicros(micros);
  envelope.payload = stored.substr(kHeaderSize);
  return envelope;
}

}  // namespace larder::client::internal

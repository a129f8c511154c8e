#include "client/src/http/record_codec.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/src/http/record_validation.h"

namespace larder::http::internal {
namespace {

constexpr absl::string_view kMagic = "LHR";
constexpr char kVersion = kRecordVersion;
// Records of version '1' (no variant) are still read: they decode with an empty variant.
constexpr char kVersionWithoutVariant = '1';

void PutInt(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutString(std::string& out, absl::string_view text) {
  PutInt(out, text.size(), 4);
  out.append(text.data(), text.size());
}

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : rest_(bytes) {}

  bool Int(int bytes, uint64_t& value) {
    if (rest_.size() < static_cast<size_t>(bytes)) return false;
    value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(bytes);
    return true;
  }
  bool String(std::string& text) {
    uint64_t size = 0;
    if (!Int(4, size) || rest_.size() < size) return false;
    text.assign(rest_.data(), size);
    rest_.remove_prefix(size);
    return true;
  }
  bool Time(absl::Time& time) {
    uint64_t micros = 0;
    if (!Int(8, micros)) return false;
    time = absl::FromUnixMicros(static_cast<int64_t>(micros));
    return true;
  }
  bool Literal(absl::string_view literal) {
    if (rest_.substr(0, literal.size()) != literal) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

bool ReadHeaders(Reader& reader, Headers& headers) {
  uint64_t count = 0;
  if (!reader.Int(4, count)) return false;
  for (uint64_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!reader.String(name) || !reader.String(value)) return false;
    headers.Add(name, value);
  }
  return true;
}

}  // namespace

std::string EncodeRecord(const StoredResponse& stored) {
  std::string out(kMagic);
  out.push_back(kVersion);
  PutInt(out, static_cast<uint16_t>(stored.response.status), 2);
  PutInt(out, static_cast<uint64_t>(absl::ToUnixMicros(stored.meta.stored_at)), 8);
  PutInt(out, static_cast<uint64_t>(absl::ToUnixMicros(stored.meta.fresh_until)), 8);
  PutString(out, stored.meta.etag);
  PutString(out, stored.meta.variant);
  PutInt(out, stored.response.headers.size(), 4);
  for (const Headers::Field& field : stored.response.headers.fields()) {
    PutString(out, field.first);
    PutString(out, field.second);
  }
  PutString(out, stored.response.body);
  return out;
}

absl::StatusOr<StoredResponse> DecodeRecord(absl::string_view bytes) {
  Reader reader(bytes);
  StoredResponse stored;
  uint64_t status = 0;
  if (!reader.Literal(kMagic)) return absl::DataLossError("not an HTTP response record");
  const char version = bytes.size() > kMagic.size() ? bytes[kMagic.size()] : '\0';
  if (bytes.size() > kMagic.size() && version != kVersion && version != kVersionWithoutVariant) {
    return absl::DataLossError(
        absl::StrCat("an HTTP response record of unknown format version 0x",
                     absl::BytesToHexString(bytes.substr(kMagic.size(), 1))));
  }
  const bool has_variant = version == kVersion;
  if (!reader.Literal(absl::string_view(&version, 1)) || !reader.Int(2, status) ||
      !reader.Time(stored.meta.stored_at) || !reader.Time(stored.meta.fresh_until) ||
      !reader.String(stored.meta.etag) || (has_variant && !reader.String(stored.meta.variant)) ||
      !ReadHeaders(reader, stored.response.headers) || !reader.String(stored.response.body) ||
      !reader.done()) {
    return absl::DataLossError("truncated or malformed HTTP response record");
  }
  stored.response.status = static_cast<int>(status);
  if (absl::Status valid = ValidateRecord(stored); !valid.ok()) return valid;
  return stored;
}

}  // namespace larder::http::internal

#include "server/storage/rocksdb/rocksdb_codec.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace larder::storage::internal {
namespace {

constexpr char kFormatWithoutStamp = 1;
constexpr char kFormatWithStamp = 2;

void PutFixed32(std::string& out, uint32_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

void PutBigEndian32(std::string& out, uint32_t n) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

void PutFixed64(std::string& out, uint64_t n) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

bool GetFixed64(absl::string_view& in, uint64_t& n) {
  if (in.size() < 8) return false;
  n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(8);
  return true;
}

bool GetFixed32(absl::string_view& in, uint32_t& n) {
  if (in.size() < 4) return false;
  n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(4);
  return true;
}

void PutLengthPrefixed(std::string& out, absl::string_view bytes) {
  PutFixed32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

bool GetLengthPrefixed(absl::string_view& in, absl::string_view& bytes) {
  uint32_t length;
  if (!GetFixed32(in, length) || in.size() < length) return false;
  bytes = in.substr(0, length);
  in.remove_prefix(length);
  return true;
}

std::string TagPrefix(absl::string_view ns, absl::string_view tag) {
  std::string out = absl::StrCat(ns, absl::string_view("\0", 1));
  PutBigEndian32(out, static_cast<uint32_t>(tag.size()));
  out.append(tag.data(), tag.size());
  return out;
}

// Everything after the format byte and the stamp.
void AppendEntryBody(std::string& out, const EntryFields& fields) {
  PutLengthPrefixed(out, fields.etag);
  const size_t tag_count = fields.tags == nullptr ? 0 : fields.tags->size();
  PutFixed32(out, static_cast<uint32_t>(tag_count));
  for (size_t i = 0; i < tag_count; ++i) PutLengthPrefixed(out, (*fields.tags)[i]);
  out.append(fields.value.data(), fields.value.size());
}

}  // namespace

int64_t ExpiryMicros(absl::Time time) {
  if (time == absl::InfiniteFuture()) return kNeverExpiresMicros;
  return absl::ToUnixMicros(time);
}

absl::Time ExpiryTime(int64_t micros) {
  if (micros == kNeverExpiresMicros) return absl::InfiniteFuture();
  return absl::FromUnixMicros(micros);
}

std::string EncodeExpiry(int64_t micros) {
  std::string out;
  PutFixed64(out, static_cast<uint64_t>(micros));
  return out;
}

std::optional<int64_t> ReadExpiry(absl::string_view row) {
  uint64_t bits = 0;
  if (!GetFixed64(row, bits)) return std::nullopt;
  return static_cast<int64_t>(bits);
}

void RewriteExpiry(std::string& row, int64_t micros) {
  const std::string expiry = EncodeExpiry(micros);
  std::memcpy(row.data(), expiry.data(), kExpiryBytes);
}

std::string EncodeEntry(const EntryFields& fields) {
  std::string out = EncodeExpiry(fields.expires_at_micros);
  out.push_back(kFormatWithStamp);
  PutFixed64(out, fields.stamp);
  AppendEntryBody(out, fields);
  return out;
}

std::optional<EntryView> DecodeEntry(absl::string_view row) {
  EntryView view;
  std::optional<int64_t> expiry = ReadExpiry(row);
  if (!expiry.has_value() || row.size() < kExpiryBytes + 1) return std::nullopt;
  view.expires_at_micros = *expiry;
  absl::string_view rest = row.substr(kExpiryBytes + 1);
  const char format = row[kExpiryBytes];
  if (format == kFormatWithStamp) {
    if (!GetFixed64(rest, view.stamp)) return std::nullopt;
  } else if (format != kFormatWithoutStamp) {
    return std::nullopt;
  }
  uint32_t tag_count;
  if (!GetLengthPrefixed(rest, view.etag) || !GetFixed32(rest, tag_count)) return std::nullopt;
  if (tag_count > rest.size() / 4) return std::nullopt;
  view.tags.resize(tag_count);
  for (absl::string_view& tag : view.tags) {
    if (!GetLengthPrefixed(rest, tag)) return std::nullopt;
  }
  view.value = rest;
  return view;
}

std::string EntryKey(absl::string_view ns, absl::string_view key) {
  return absl::StrCat(ns, absl::string_view("\0", 1), key);
}

bool SplitEntryKey(absl::string_view row_key, absl::string_view& ns, absl::string_view& key) {
  const size_t separator = row_key.find('\0');
  if (separator == absl::string_view::npos) return false;
  ns = row_key.substr(0, separator);
  key = row_key.substr(separator + 1);
  return true;
}

std::string PrefixBegin(absl::string_view ns, absl::string_view prefix) {
  return EntryKey(ns, prefix);
}

std::string PrefixEnd(absl::string_view ns, absl::string_view prefix) {
  std::string successor = PrefixSuccessor(prefix);
  if (!successor.empty()) return EntryKey(ns, successor);
  return absl::StrCat(ns, absl::string_view("\x01", 1));  // Past every key of `ns`.
}

std::string TagRowKey(absl::string_view ns, absl::string_view tag, absl::string_view key) {
  return absl::StrCat(TagPrefix(ns, tag), key);
}

std::string TagRangeBegin(absl::string_view ns, absl::string_view tag) {
  return TagPrefix(ns, tag);
}

std::string TagRangeEnd(absl::string_view ns, absl::string_view tag) {
  std::string successor = PrefixSuccessor(TagPrefix(ns, tag));
  // The tag prefix starts with a namespace character, never 0xff, so a successor exists.
  return successor;
}

absl::string_view KeyOfTagRow(absl::string_view row_key, absl::string_view ns,
                              absl::string_view tag) {
  const size_t prefix_size = ns.size() + 1 + 4 + tag.size();
  return row_key.size() < prefix_size ? absl::string_view() : row_key.substr(prefix_size);
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string successor(prefix);
  while (!successor.empty()) {
    unsigned char last = static_cast<unsigned char>(successor.back());
    if (last != 0xff) {
      successor.back() = static_cast<char>(last + 1);
      return successor;
    }
    successor.pop_back();
  }
  return successor;
}

}  // namespace larder::storage::internal

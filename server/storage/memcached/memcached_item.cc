#include "server/storage/memcached/memcached_item.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "xxhash.h"

namespace larder::storage::internal {
namespace {

// "LMC" and the format version.
constexpr absl::string_view kMagic = "LMC";
constexpr char kVersion = 1;
constexpr int64_t kNeverMicros = INT64_MAX;
// "LML" and the lease record's format version; its flags.
constexpr absl::string_view kRecordMagic = "LML";
constexpr char kRecordVersion = 1;
constexpr uint8_t kCommitting = 1, kHasStale = 2;

void PutFixed64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutBytes(std::string& out, absl::string_view bytes) {
  const uint32_t size = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  out.append(bytes.data(), bytes.size());
}

bool GetFixed(absl::string_view& in, int width, uint64_t& value) {
  if (in.size() < static_cast<size_t>(width)) return false;
  value = 0;
  for (int i = 0; i < width; ++i) value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(width);
  return true;
}

bool GetBytes(absl::string_view& in, std::string& bytes) {
  uint64_t size = 0;
  if (!GetFixed(in, 4, size) || in.size() < size) return false;
  bytes.assign(in.data(), size);
  in.remove_prefix(size);
  return true;
}

std::string Digest(absl::string_view bytes) {
  const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
  return absl::StrFormat("%016x%016x", hash.high64, hash.low64);
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("memcached item: ", what));
}

absl::Status CorruptRecord(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("memcached lease record: ", what));
}

// Microseconds, with the infinities at the ends of int64.
void PutTime(std::string& out, absl::Time time) {
  const int64_t micros = time == absl::InfiniteFuture() ? INT64_MAX
                         : time == absl::InfinitePast() ? INT64_MIN
                                                        : absl::ToUnixMicros(time);
  PutFixed64(out, static_cast<uint64_t>(micros));
}

bool GetTime(absl::string_view& in, absl::Time& time) {
  uint64_t bits = 0;
  if (!GetFixed(in, 8, bits)) return false;
  const int64_t micros = static_cast<int64_t>(bits);
  time = micros == INT64_MAX   ? absl::InfiniteFuture()
         : micros == INT64_MIN ? absl::InfinitePast()
                               : absl::FromUnixMicros(micros);
  return true;
}

bool GetStale(absl::string_view& in, MemcachedLeaseRecord::Stale& stale) {
  return GetTime(in, stale.expires_at) && GetFixed(in, 8, stale.generation) &&
         GetTime(in, stale.removed_at) && GetBytes(in, stale.etag) && GetBytes(in, stale.value);
}

}  // namespace

std::string FullKey(absl::string_view ns, absl::string_view key) {
  return absl::StrCat(ns, absl::string_view("\0", 1), key);
}

bool IsPlainMemcachedKey(absl::string_view key) {
  if (key.empty() || key.size() > kMemcachedMaxKeyBytes) return false;
  for (char c : key) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

std::string MemcachedEntryKey(absl::string_view prefix, absl::string_view ns,
                              absl::string_view key) {
  std::string plain = absl::StrCat(prefix, "e:", ns, ":", key);
  if (IsPlainMemcachedKey(plain)) return plain;
  return absl::StrCat(prefix, "h:", Digest(FullKey(ns, key)));
}

std::string NamespaceGenerationKey(absl::string_view prefix, absl::string_view ns) {
  return absl::StrCat(prefix, "g:", ns);
}

std::string TagGenerationKey(absl::string_view prefix, absl::string_view ns,
                             absl::string_view tag) {
  std::string plain = absl::StrCat(prefix, "t:", ns, ":", tag);
  if (IsPlainMemcachedKey(plain)) return plain;
  return absl::StrCat(prefix, "u:", Digest(FullKey(ns, tag)));
}

std::string LeaseRecordKey(absl::string_view prefix, absl::string_view ns, absl::string_view key) {
  std::string plain = absl::StrCat(prefix, "l:", ns, ":", key);
  if (IsPlainMemcachedKey(plain)) return plain;
  return absl::StrCat(prefix, "lh:", Digest(FullKey(ns, key)));
}

std::string LeaseGenerationKey(absl::string_view prefix, absl::string_view ns) {
  return absl::StrCat(prefix, "lg:", ns);
}

std::string EncodeLeaseRecord(const MemcachedLeaseRecord& record) {
  std::string out(kRecordMagic);
  out.push_back(kRecordVersion);
  uint8_t flags = record.committing ? kCommitting : 0;
  if (record.stale.has_value()) flags |= kHasStale;
  out.push_back(static_cast<char>(flags));
  PutTime(out, record.lease_until);
  PutFixed64(out, record.generation);
  PutBytes(out, record.full_key);
  PutBytes(out, record.token);
  if (record.stale.has_value()) {
    PutTime(out, record.stale->expires_at);
    PutFixed64(out, record.stale->generation);
    PutTime(out, record.stale->removed_at);
    PutBytes(out, record.stale->etag);
    PutBytes(out, record.stale->value);
  }
  return out;
}

absl::StatusOr<MemcachedLeaseRecord> DecodeLeaseRecord(absl::string_view in) {
  if (in.size() < kRecordMagic.size() + 2 || in.substr(0, kRecordMagic.size()) != kRecordMagic) {
    return CorruptRecord("not a record written by larder");
  }
  if (in[kRecordMagic.size()] != kRecordVersion) {
    return CorruptRecord("a record version this build cannot read");
  }
  const uint8_t flags = static_cast<uint8_t>(in[kRecordMagic.size() + 1]);
  if ((flags & ~(kCommitting | kHasStale)) != 0) return CorruptRecord("unknown flags");
  in.remove_prefix(kRecordMagic.size() + 2);
  MemcachedLeaseRecord record;
  record.committing = (flags & kCommitting) != 0;
  if (!GetTime(in, record.lease_until) || !GetFixed(in, 8, record.generation) ||
      !GetBytes(in, record.full_key) || !GetBytes(in, record.token)) {
    return CorruptRecord("truncated");
  }
  if ((flags & kHasStale) != 0 && !GetStale(in, record.stale.emplace())) {
    return CorruptRecord("truncated stale value");
  }
  if (!in.empty()) return CorruptRecord("bytes after the record");
  if (record.committing && record.token.empty()) return CorruptRecord("committing without token");
  return record;
}

std::string EncodeLeaseGeneration(const LeaseGeneration& generation) {
  return absl::StrCat(generation.id, ":", absl::ToUnixMicros(generation.changed_at));
}

std::optional<LeaseGeneration> ParseLeaseGeneration(absl::string_view value) {
  const std::vector<absl::string_view> parts = absl::StrSplit(value, ':');
  LeaseGeneration generation;
  int64_t micros = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &generation.id) ||
      !absl::SimpleAtoi(parts[1], &micros)) {
    return std::nullopt;
  }
  generation.changed_at = absl::FromUnixMicros(micros);
  return generation;
}

std::string EncodeMemcachedItem(const MemcachedItem& item) {
  std::string out(kMagic);
  out.push_back(kVersion);
  const int64_t expires = item.expires_at == absl::InfiniteFuture()
                              ? kNeverMicros
                              : absl::ToUnixMicros(item.expires_at);
  PutFixed64(out, static_cast<uint64_t>(expires));
  PutFixed64(out, item.namespace_generation);
  PutBytes(out, item.full_key);
  PutBytes(out, item.etag);
  PutFixed64(out, item.tags.size());
  for (const auto& [tag, generation] : item.tags) {
    PutBytes(out, tag);
    PutFixed64(out, generation);
  }
  out.append(item.value);
  return out;
}

absl::StatusOr<MemcachedItem> DecodeMemcachedItem(absl::string_view in) {
  if (in.size() < kMagic.size() + 1 || in.substr(0, kMagic.size()) != kMagic) {
    return Corrupt("not an item written by larder");
  }
  if (in[kMagic.size()] != kVersion) return Corrupt("an item version this build cannot read");
  in.remove_prefix(kMagic.size() + 1);
  MemcachedItem item;
  uint64_t expires = 0, tags = 0;
  if (!GetFixed(in, 8, expires) || !GetFixed(in, 8, item.namespace_generation) ||
      !GetBytes(in, item.full_key) || !GetBytes(in, item.etag) || !GetFixed(in, 8, tags) ||
      tags > in.size()) {
    return Corrupt("truncated header");
  }
  const int64_t micros = static_cast<int64_t>(expires);
  item.expires_at = micros == kNeverMicros ? absl::InfiniteFuture() : absl::FromUnixMicros(micros);
  for (uint64_t i = 0; i < tags; ++i) {
    std::pair<std::string, uint64_t> tag;
    if (!GetBytes(in, tag.first) || !GetFixed(in, 8, tag.second)) return Corrupt("truncated tags");
    item.tags.push_back(std::move(tag));
  }
  item.value.assign(in.data(), in.size());
  return item;
}

time_t MemcachedExpiration(absl::Time expires_at, absl::Time now, absl::Time real_now) {
  if (expires_at == absl::InfiniteFuture()) return 0;
  const double left = absl::ToDoubleSeconds(expires_at - now);
  // memcached's expiration is 32 bits: an entry living past 2106 is stored without one.
  if (left > double{UINT32_MAX}) return 0;
  const int64_t seconds = left <= 0 ? 1 : static_cast<int64_t>(std::ceil(left)) + 1;
  if (seconds <= kMemcachedMaxRelativeExpiration) return static_cast<time_t>(seconds);
  const int64_t absolute = absl::ToUnixSeconds(real_now) + seconds;
  return absolute > int64_t{UINT32_MAX} ? 0 : static_cast<time_t>(absolute);
}

}  // namespace larder::storage::internal

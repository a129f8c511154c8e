// How the RocksDB engine lays entries and tag-index rows out as RocksDB keys and values.
// Internal to server/storage/rocksdb.
//
// Column family "entries":  key   = ns '\0' key
//                           value = expiry (8 bytes, little-endian unix micros; INT64_MAX for
//                                   never) | format (1 byte, 2) | write stamp (8 bytes,
//                                   little-endian) | etag | tag count | tags | value
//                           where etag and each tag are a 4-byte little-endian length + bytes.
//                           Format 1 rows (written before stamps existed) have no stamp; they
//                           decode with stamp 0, older than any stamp (rocksdb_stamps.h).
// Column family "tags":     key   = ns '\0' tag length (4 bytes, big-endian) tag key
//                           value = expiry (8 bytes, as above; the entry's expiry)
// Column family "default":  the write-stamp epoch (rocksdb_stamps.h).
//
// Namespaces never contain '\0', so "ns\0" is a unique prefix of each namespace's rows and keys
// (arbitrary bytes) sort bytewise inside it. Both values begin with the expiry, which is all the
// compaction filter reads.
//
//   std::string row = EncodeEntry({.expires_at_micros = m, .etag = e, .tags = t, .value = v,
//                                  .stamp = s});
//   std::optional<EntryView> view = DecodeEntry(row);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::storage::internal {

inline constexpr char kEntriesColumnFamily[] = "entries";
inline constexpr char kTagsColumnFamily[] = "tags";
inline constexpr int64_t kNeverExpiresMicros = INT64_MAX;
inline constexpr size_t kExpiryBytes = 8;

// Unix microseconds of `time`; kNeverExpiresMicros for absl::InfiniteFuture().
int64_t ExpiryMicros(absl::Time time);
absl::Time ExpiryTime(int64_t micros);

// The first `kExpiryBytes` of an entry or tag row, or nullopt when the row is too short.
std::optional<int64_t> ReadExpiry(absl::string_view row);
std::string EncodeExpiry(int64_t micros);
// Overwrites the expiry at the front of an encoded row.
void RewriteExpiry(std::string& row, int64_t micros);

// An entry as stored; views point into the row it was decoded from.
struct EntryView {
  int64_t expires_at_micros = kNeverExpiresMicros;
  absl::string_view etag;
  std::vector<absl::string_view> tags;
  absl::string_view value;
  // When the row was written (rocksdb_stamps.h); 0 for a format 1 row.
  uint64_t stamp = 0;
};

// True while `entry` has not expired at `now`.
inline bool IsLive(const EntryView& entry, absl::Time now) {
  return ExpiryTime(entry.expires_at_micros) > now;
}

struct EntryFields {
  int64_t expires_at_micros = kNeverExpiresMicros;
  absl::string_view etag;
  const std::vector<std::string>* tags = nullptr;
  absl::string_view value;
  uint64_t stamp = 0;
};

// A row in the current format (2).
std::string EncodeEntry(const EntryFields& fields);
// nullopt when the row is not a well-formed entry of format 1 or 2.
std::optional<EntryView> DecodeEntry(absl::string_view row);

// Row keys of the "entries" column family.
std::string EntryKey(absl::string_view ns, absl::string_view key);
// Splits an entry row key into namespace and key; false when it has no '\0'.
bool SplitEntryKey(absl::string_view row_key, absl::string_view& ns, absl::string_view& key);
// The half-open range of entry rows in `ns` whose key starts with `prefix` ("" for all).
std::string PrefixBegin(absl::string_view ns, absl::string_view prefix);
std::string PrefixEnd(absl::string_view ns, absl::string_view prefix);

// Row keys of the "tags" column family.
std::string TagRowKey(absl::string_view ns, absl::string_view tag, absl::string_view key);
// The half-open range of tag rows of (ns, tag), and the entry key inside one of those rows.
std::string TagRangeBegin(absl::string_view ns, absl::string_view tag);
std::string TagRangeEnd(absl::string_view ns, absl::string_view tag);
absl::string_view KeyOfTagRow(absl::string_view row_key, absl::string_view ns,
                              absl::string_view tag);

// The smallest byte string greater than every string that starts with `prefix`, or "" when
// there is none (prefix empty or all 0xff).
std::string PrefixSuccessor(absl::string_view prefix);

}  // namespace larder::storage::internal

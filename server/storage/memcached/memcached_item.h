// How the memcached engine lays out what it stores: the memcached key of an entry (the
// namespace and key as they are, or a fixed-length digest when memcached would refuse them), the
// keys of the generation counters, and the item value (a small versioned header with the full
// namespace and key, ETag, expiry and the generations the entry was written under, then the
// value bytes). Leases (memcached_lease.h) add a record per key beside its entry and a lease
// generation per namespace on every server. Pure functions, no I/O.
//
//   std::string key = internal::MemcachedEntryKey("larder:", "users", "42");  // larder:e:users:42
//   std::string bytes = internal::EncodeMemcachedItem(item);
//   absl::StatusOr<internal::MemcachedItem> back = internal::DecodeMemcachedItem(bytes);
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::storage::internal {

// memcached's longest key, in both protocols.
inline constexpr size_t kMemcachedMaxKeyBytes = 250;
// Expirations up to this many seconds are relative; larger ones are Unix times (memcached's rule).
inline constexpr int64_t kMemcachedMaxRelativeExpiration = 30 * 24 * 3600;

// An item read with its CAS value (memcached_calls.h reads them), by memcached key.
struct FetchedItem {
  std::string value;
  uint64_t cas = 0;
};
using FetchedItems = absl::flat_hash_map<std::string, FetchedItem>;

// One entry as stored in a memcached item.
struct MemcachedItem {
  // namespace '\0' key: checked on read, so two keys sharing a digest never see each other.
  std::string full_key;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();
  // The namespace's generation when the entry was written.
  uint64_t namespace_generation = 0;
  // Each tag with its generation when the entry was written.
  std::vector<std::pair<std::string, uint64_t>> tags;
  std::string value;
};

// "ns" '\0' "key".
std::string FullKey(absl::string_view ns, absl::string_view key);

// True when memcached takes `key` as it is: at most 250 bytes, none of them a control
// character, space, DEL or above 0x7e.
bool IsPlainMemcachedKey(absl::string_view key);

// The entry's memcached key: <prefix>e:<ns>:<key>, or <prefix>h:<32 hex digits of the XXH3-128
// of FullKey(ns, key)> when that is not a plain key. Namespaces hold no ':', so plain keys of
// different (ns, key) never coincide.
std::string MemcachedEntryKey(absl::string_view prefix, absl::string_view ns,
                              absl::string_view key);
// The namespace generation's key: <prefix>g:<ns>.
std::string NamespaceGenerationKey(absl::string_view prefix, absl::string_view ns);
// A tag generation's key: <prefix>t:<ns>:<tag>, or <prefix>u:<digest of ns '\0' tag>.
std::string TagGenerationKey(absl::string_view prefix, absl::string_view ns, absl::string_view tag);

// The stale copy a lease record keeps of the value last stored with a lease token. (At namespace
// scope: clang cannot default-construct a nested struct with member initializers inside
// std::optional.)
struct MemcachedStaleCopy {
  std::string value;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();  // The value's own expiry.
  uint64_t generation = 0;  // The namespace's lease generation when it was stored.
  absl::Time removed_at = absl::InfiniteFuture();  // When a Delete removed it.
};

// A key's lease record: its lease (if any) and the stale copy of the value last stored with a
// lease token (memcached_lease.h says how they are used).
struct MemcachedLeaseRecord {
  using Stale = MemcachedStaleCopy;

  // FullKey(ns, key): checked on read, as for entries.
  std::string full_key;
  // The lease's token; empty when none is outstanding (ended, voided).
  std::string token;
  // When the lease ends, by larderd's clock.
  absl::Time lease_until = absl::InfinitePast();
  // The namespace's lease generation (LeaseGeneration::id) when the lease was granted.
  uint64_t generation = 0;
  // A Set with the token has claimed the lease and is storing (it is no longer grantable to that
  // token again); implies a token.
  bool committing = false;
  std::optional<Stale> stale;
};

// A namespace's lease generation, "<id>:<unix micros>" in memcached: a random id that every
// Invalidate of the namespace replaces, and when it did (by larderd's clock; the Unix epoch when
// unknown, for a generation created because none was there).
struct LeaseGeneration {
  uint64_t id = 0;
  absl::Time changed_at = absl::UnixEpoch();
};

// The record's memcached key: <prefix>l:<ns>:<key>, or <prefix>lh:<the entry key's digest> when
// that is not a plain key (lease generations are <prefix>lg:<ns>, so the three never meet).
std::string LeaseRecordKey(absl::string_view prefix, absl::string_view ns, absl::string_view key);
// The namespace lease generation's key: <prefix>lg:<ns>.
std::string LeaseGenerationKey(absl::string_view prefix, absl::string_view ns);

// The item bytes of `record`.
std::string EncodeLeaseRecord(const MemcachedLeaseRecord& record);
// The bytes' record; kDataLoss when they are not a record of a version this build reads, or are
// inconsistent (a committing record without token, bytes left over).
absl::StatusOr<MemcachedLeaseRecord> DecodeLeaseRecord(absl::string_view bytes);

std::string EncodeLeaseGeneration(const LeaseGeneration& generation);
// nullopt unless `value` is "<decimal id>:<decimal micros>".
std::optional<LeaseGeneration> ParseLeaseGeneration(absl::string_view value);

// The item bytes of `item`.
std::string EncodeMemcachedItem(const MemcachedItem& item);
// The bytes' entry; kDataLoss when they are not an item of a version this build reads.
absl::StatusOr<MemcachedItem> DecodeMemcachedItem(absl::string_view bytes);

// memcached's expiration for an entry expiring at `expires_at` by larderd's clock (`now`): 0
// (never) for InfiniteFuture, else the seconds left plus one (memcached drops the item just after
// larderd stops returning it), at least 1, relative up to 30 days and past that the Unix time
// `real_now` plus them (memcached reads a value over 30 days as an absolute time).
time_t MemcachedExpiration(absl::Time expires_at, absl::Time now, absl::Time real_now);

}  // namespace larder::storage::internal

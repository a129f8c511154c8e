// How the memcached engine lays out what it stores: the memcached key of an entry (the
// namespace and key as they are, or a fixed-length digest when memcached would refuse them), the
// keys of the generation counters, and the item value (a small versioned header with the full
// namespace and key, ETag, expiry and the generations the entry was written under, then the
// value bytes). Pure functions, no I/O.
//
//   std::string key = internal::MemcachedEntryKey("larder:", "users", "42");  // larder:e:users:42
//   std::string bytes = internal::EncodeMemcachedItem(item);
//   absl::StatusOr<internal::MemcachedItem> back = internal::DecodeMemcachedItem(bytes);
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::storage::internal {

// memcached's longest key, in both protocols.
inline constexpr size_t kMemcachedMaxKeyBytes = 250;
// Expirations up to this many seconds are relative; larger ones are Unix times (memcached's rule).
inline constexpr int64_t kMemcachedMaxRelativeExpiration = 30 * 24 * 3600;

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

// The Lua scripts of the Redis engine: every read-modify-write of an entry (conditional set,
// delete, touch, reclaiming an expired entry, removing a batch of entries) runs as one script, so
// Redis applies it atomically. Internal to server/storage/redis.
//
// Layout under the key prefix P: each namespace is spread over RedisLayout::kBuckets buckets (by
// the CRC16 of the key); everything of one bucket shares the hash tag {<ns>:<bucket>}, hence one
// Redis Cluster slot, so every script below touches keys of a single slot (namespaces never
// contain ':', '{' or '}'). With B = "P{<ns>:<bucket>}":
//   B e:<key>   a hash: v = value, e = ETag, x = expiry (unix micros by the injected Clock, ""
//               for never), and one field "#<tag>" per tag; native PX expiry as well
//   B i         the bucket's index: a sorted set of "<key size + value size>:<key>" scored by
//               expiry (inf for never); every entry of the bucket is in it
//   B c         the bucket's counters: n entries and b bytes (of the index's members), x
//               expirations, r present once the namespace is in P namespaces
//   B t:<tag>   a sorted set of the keys carrying <tag>, scored by expiry; expires no sooner than
//               its entries, and drops members whose score has passed at every write to it
//   P namespaces  a set of every namespace that has (had) a bucket, for Stats of all of them
//
// Every script takes ARGV[1] = now (unix micros by the injected Clock) and ARGV[2] = B, and
// KEYS[1] a key of B (so Redis Cluster routes it); see redis_scripts.cc for the rest.
#pragma once

#include "absl/strings/string_view.h"

namespace larder::storage::internal {

enum class Script : int {
  kSet,            // KEYS[1] entry; returns {stored (0/1), etag, namespace unregistered (0/1)}
  kDelete,         // KEYS[1] entry; returns 1 (live removed), 0 (expired removed), -1 (absent)
  kTouch,          // KEYS[1] entry; returns the ETag, or nil when there was no live entry
  kReclaim,        // KEYS[1] entry; removes it if expired; returns 1 when it did
  kRemoveAll,      // KEYS[1] index; removes up to kRemovalBatch entries: {removed, remaining}
  kRemoveTagged,   // KEYS[1] tag set, ARGV[3] tag; same, for the entries carrying the tag
  kRemoveMembers,  // KEYS[1] index, ARGV[3..] index members; returns the live entries removed
};
inline constexpr int kScriptCount = 7;

// Entries one kRemoveAll / kRemoveTagged call removes at most.
inline constexpr int kRemovalBatch = 256;

absl::string_view ScriptSource(Script script);

}  // namespace larder::storage::internal

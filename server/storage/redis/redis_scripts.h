// The Lua scripts of the Redis engine: every read-modify-write of an entry (conditional set,
// delete, touch, reclaiming an expired entry, removing a batch of entries) runs as one script, so
// Redis applies it atomically. Internal to server/storage/redis.
//
// Layout under the key prefix P (namespaces never contain ':'):
//   P e:<ns>:<key>   a hash: v = value, e = ETag, x = expiry (unix micros by the injected Clock,
//                    "" for never), and one field "#<tag>" per tag; native PX expiry as well
//   P t:<ns>:<tag>   a set of the keys carrying <tag>; expires no sooner than its entries
//   P s:<ns>         a hash of counters: expirations
//
// Every script takes ARGV[1] = now (unix micros by the injected Clock), ARGV[2] = P,
// ARGV[3] = namespace; see redis_scripts.cc for the rest of each script's arguments.
#pragma once

#include "absl/strings/string_view.h"

namespace larder::storage::internal {

enum class Script : int {
  kSet,          // KEYS[1] entry; returns {stored (0/1), etag}
  kDelete,       // KEYS[1] entry; returns 1 (live removed), 0 (expired removed), -1 (absent)
  kTouch,        // KEYS[1] entry; returns the ETag, or nil when there was no live entry
  kReclaim,      // KEYS[1] entry; removes it if expired; returns 1 when it did
  kRemoveBatch,  // KEYS = entries; returns how many live entries it removed
  kStatsBatch,   // KEYS = entries of any namespaces; returns {live entries, bytes}
};
inline constexpr int kScriptCount = 6;

absl::string_view ScriptSource(Script script);

}  // namespace larder::storage::internal

// The Lua scripts of the Redis engine: every read-modify-write of an entry (conditional set,
// delete, touch, lease, reclaiming an expired entry, removing a batch of entries) runs as one
// script, so Redis applies it atomically, with its change message. Internal to
// server/storage/redis.
//
// Layout under the key prefix P: each namespace is spread over RedisLayout::kBuckets buckets (by
// the CRC16 of the key); everything of one bucket shares the hash tag {<ns>:<bucket>}, hence one
// Redis Cluster slot, so every script below touches keys of a single slot (namespaces never
// contain ':', '{' or '}'). With B = "P{<ns>:<bucket>}":
//   B e:<key>   a string (layout 2): '2', the expiry in 16 characters (unix micros by the
//               injected Clock, zero-padded, or 16 '-' for never), then "<grace>;<ETag
//               length>;<tags length>;", the ETag, the tags ("<length>:<tag>" each), the value.
//               grace (ms) is set only when stored with a lease token. Native PX expiry as well
//               (longer by grace). A Get is one GET, a MultiGet one MGET per server (per slot on
//               a cluster); scripts read the header alone (GETRANGE, kEntryHeaderProbe bytes
//               first). Layout 1 kept an entry as a hash (v, e, x, l and one "#<tag>" field per
//               tag): every script converts such an entry it meets (kConvert on its own), and
//               RedisEngine converts the rest once per Redis (redis_layout.cc)
//   B i         the bucket's index: a sorted set of "<key size + value size>:<key>" scored by
//               expiry (inf for never); every entry of the bucket is in it
//   B c         the bucket's counters: n entries and b bytes (of the index's members), x
//               expirations, r present once the namespace is in P namespaces; g = the lease
//               generation (random, replaced by every Invalidate of the namespace; absent = ''),
//               l present once the bucket is in P leased:<ns>
//   B t:<tag>   a sorted set of the keys carrying <tag>, scored by expiry; expires no sooner than
//               its entries, and drops members whose score has passed at every write to it
//   B l:<key>   the key's lease record, a hash: t = token, u = lease end (unix micros), g = the
//               bucket's generation when granted; v, e = stale value and ETag, s = stale until
//               (unix micros). PEXPIREd to outlive both. A lease is current while t is set,
//               u > now and g is the bucket's generation
//   P namespaces  a set of every namespace that has (had) a bucket, for Stats of all of them
//   P layout    "2" once every entry of this Redis is a string (RedisEngine sets it)
//   P leased:<ns>  a set of the bucket numbers of <ns> that have granted leases: the buckets whose
//               generation an Invalidate replaces
//
// Stale values without a second copy: an entry stored with a lease token is kept by Redis grace
// longer than its expiry, and removing it (Delete, Invalidate, reclaiming it once expired) copies
// its value and ETag into its lease record, offered as stale until grace after its expiry or
// removal.
//
// Changes: kSet (when it stored), kDelete (always) and kTouch (when it found a live entry) PUBLISH
// the key's change message (redis_change_message.h) on "P changes" as their last write, so an
// entry never changes without its announcement, nor is announced without its change. Removing
// expired entries and Invalidate's batches announce nothing (RedisEngine::Invalidate announces
// the whole invalidation itself).
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
  kLease,          // KEYS[1] entry; the entry, a new lease, or wait (see redis_scripts.cc)
  kConvert,        // KEYS[1] entry; converts a layout 1 hash; returns the string, or nil
  kEndLease,       // KEYS[1] entry, ARGV[3] token; 1 when it ended the current lease, else 0
};
inline constexpr int kScriptCount = 10;

// An entry's string (layout 2, above): its first byte, its expiry's width and the expiry of an
// entry that never expires, and how many bytes of it scripts read first for its header.
inline constexpr char kEntryLayout = '2';
inline constexpr size_t kEntryExpiryWidth = 16;
inline constexpr absl::string_view kEntryNeverExpires = "----------------";
inline constexpr int kEntryHeaderProbe = 96;

// Entries one kRemoveAll / kRemoveTagged call removes at most.
inline constexpr int kRemovalBatch = 256;

absl::string_view ScriptSource(Script script);

}  // namespace larder::storage::internal

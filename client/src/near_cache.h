// NearCache: the SDK's coherent near cache store. It keeps hot entries of watched namespaces in
// process memory and answers Gets of live namespaces locally; larderd's Watch stream (reset, key,
// all, prefix, pattern, tag events) and this client's own acknowledged writes invalidate them.
// A pure thread-safe data structure: no gRPC, time from an injected Clock.
//
//   NearCache near(limits, clock, &metrics->near_cache());
//   near.OnReset("users");                            // the namespace's stream said `reset`
//   GetResult result;
//   if (near.Lookup("users", "42", result)) return result;
//   NearTicket ticket = near.BeginFetch("users");     // before the Get is sent
//   ... result = Get("users", "42") ...
//   if (result.found) near.Install(ticket, "users", "42", {result.value, result.etag, expiry});
//   near.InvalidateKey("users", "42");                // an event, or our own acknowledged Set
//
// Design.
// * Liveness. Per namespace an `epoch`, odd while the namespace is live (its stream delivered
//   `reset` and has not been lost). OnReset and OnDown move it to a new value and drop the
//   namespace's entries. An entry records the epoch it was installed in and is served only while
//   that is still the namespace's epoch, so nothing is served for a namespace that is not live,
//   nor from before its latest reset. A namespace never seen is not live.
// * The near-cache race. A value fetched by a Get that was in flight while an invalidation
//   covering its key was applied here must never be installed. Per namespace an atomic
//   invalidation counter: BeginFetch captures (epoch, counter) in a ticket; every invalidation
//   first increments the counter to c. A key invalidation then, under the key's shard lock,
//   records c as the key's mark and erases the entry. A namespace-wide one (all, prefix,
//   pattern, tag) raises the namespace's `refuse_below` mark to c before sweeping the shards.
//   Install, under the key's shard lock, refuses a ticket whose epoch is not the current one or
//   whose counter is below refuse_below, the key's mark or the table's floor (below).
//   Why an old value can never stay: take an invalidation with counter c and an Install with
//   an older ticket (counter < c) of a key it covers, on the same shard, serialised by the shard
//   lock. If Install runs first, the invalidation's erase or sweep of that shard comes later and
//   removes the value. If Install runs second, the mark (key mark, or refuse_below stored before
//   the sweep started) is visible to it under the lock and it refuses. Epochs work the same way:
//   OnReset/OnDown store the new epoch before sweeping. A ticket taken after the counter was
//   incremented belongs to a Get sent after the invalidation: it may install.
// * Bounded marks. Key marks are kept per shard and namespace, at most
//   NearCacheLimits::max_key_marks in all. Marks are never dropped without raising the table's
//   `floor` to the highest one dropped, which refuses every older ticket of that namespace in
//   that shard: conservative (a few installs refused), never wrong.
// * Coverage. InvalidatePrefix drops the keys starting with the prefix. InvalidateTag drops
//   every entry of the namespace (the client does not know entries' tags), and so does
//   InvalidatePattern (the glob matcher lives in server code; dropping all is correct, just
//   coarser). InvalidateAll, Tag and Pattern also raise `serve_from`, so entries installed with
//   older tickets stop being served before the sweep reaches their shard.
// * Memory. Every entry is charged ns + key + value + etag + kNearEntryOverheadBytes. Entries
//   are sharded by hash of (ns, key); each shard has its own mutex, map and S3-FIFO queues
//   (near_fifo.h) and an equal share of max_bytes and max_entries, so the totals hold across
//   all namespaces. An entry larger than a shard's share is not installed.
// * Hot path. A hit takes one hash, one shard lock, two map lookups (namespace table, key), a
//   few atomic loads, a clock read only for expiring entries, and copies value and etag into
//   the result (reusing its strings' capacity). It bumps an access counter; no global lock.
//   Namespace state is found through the entry, not through the namespace registry.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/client.h"
#include "larder/client_metrics.h"
#include "larder/common/clock.h"

namespace larder::client::internal {

struct NearNamespace;
class NearShard;

// Bytes charged per entry beyond its namespace, key, value and ETag: the node and its key
// string in the shard's map, the map slot and allocation headers, rounded up.
inline constexpr int64_t kNearEntryOverheadBytes = 256;

struct NearCacheLimits {
  // Bytes charged by all entries of all namespaces, at most.
  // Default: 64 MiB
  int64_t max_bytes = int64_t{64} << 20;
  // Entries of all namespaces, at most.
  // Default: 65536
  int64_t max_entries = 65536;
  // Keys whose latest invalidation is remembered, in all, to refuse older tickets of just that
  // key; past it a shard forgets its marks and refuses every older ticket of their namespaces.
  // Default: 16384
  int64_t max_key_marks = 16384;
  // Independently locked shards, each with an equal share of the limits above. Fewer when the
  // limits are small: each shard gets at least one entry and 64 KiB.
  // Default: 16
  int shards = 16;
};

// An entry as the server answered it.
struct NearEntry {
  std::string value;
  std::string etag;
  std::optional<absl::Time> expires_at;  // nullopt: never expires.
};

// What BeginFetch captured; pass it back to Install. Copyable; must not outlive its NearCache.
// Callers only test valid(): the fields are NearCache's.
struct NearTicket {
  const NearNamespace* ns = nullptr;  // nullptr: invalid, never installs.
  uint64_t epoch = 0;
  uint64_t invalidations = 0;

  bool valid() const { return ns != nullptr; }
};

// Thread-safe: every method may be called from any thread at once.
class NearCache {
 public:
  // `clock` and `metrics` (nullable) must outlive the cache.
  NearCache(NearCacheLimits limits, const Clock& clock, const NearCacheMetrics* metrics);
  ~NearCache();
  NearCache(const NearCache&) = delete;
  NearCache& operator=(const NearCache&) = delete;

  // On a hit (live namespace, entry not expired on the clock) fills `out` (found, value, etag,
  // the remaining ttl or nullopt, not_modified = false) and returns true. On a miss returns
  // false and leaves `out` alone; an expired or stale entry found is removed. O(1). A miss is
  // counted unless `count_miss` is false (a probe that a counted lookup follows).
  bool Lookup(absl::string_view ns, absl::string_view key, GetResult& out, bool count_miss = true);

  // Call before sending the Get whose answer may be installed. The ticket is invalid when `ns`
  // is not live. O(1): a reader lock on the namespace registry.
  NearTicket BeginFetch(absl::string_view ns);

  // After that Get answered found: installs `entry` unless the ticket is invalid or is for
  // another namespace, the namespace left the ticket's epoch, an invalidation that may cover
  // `key` was applied since BeginFetch (counted in refused_installs), the entry has expired,
  // or its charge exceeds a shard's share of the limits. Replaces an entry of the same key and
  // evicts others as needed. Returns whether installed. O(1) amortised, plus the evictions.
  bool Install(const NearTicket& ticket, absl::string_view ns, absl::string_view key,
               NearEntry entry);

  // The stream's `reset`: drops the namespace's entries; the namespace becomes live in a new
  // epoch, refusing every earlier ticket. O(entries of ns + shards).
  void OnReset(absl::string_view ns);
  // The stream was lost or is not connected: the namespace is not live, its entries are dropped
  // and every earlier ticket is refused. O(entries of ns + shards).
  void OnDown(absl::string_view ns);

  // Invalidations, from the stream and from this client's acknowledged writes. Each refuses the
  // installs of tickets taken before it that may cover the keys it names, and drops entries:
  // the key; every entry of ns; those whose key starts with `prefix`; every entry of ns for a
  // tag or a glob (see the top comment). No-ops for a namespace never reset or downed.
  // InvalidateKey: O(1). The others: O(entries of ns + shards), one shard locked at a time.
  void InvalidateKey(absl::string_view ns, absl::string_view key);
  void InvalidateAll(absl::string_view ns);
  void InvalidatePrefix(absl::string_view ns, absl::string_view prefix);
  void InvalidatePattern(absl::string_view ns, absl::string_view glob);
  void InvalidateTag(absl::string_view ns, absl::string_view tag);

  // Totals over all shards. O(shards).
  int64_t bytes() const;
  int64_t entries() const;

 private:
  NearShard& ShardFor(uint64_t hash) const;
  NearNamespace* FindNamespace(absl::string_view ns) const;
  NearNamespace& FindOrAddNamespace(absl::string_view ns);
  // Moves the namespace to a new epoch (live or not) and drops its entries.
  void Restart(absl::string_view ns, bool live);
  // Refuses tickets older than now; with `drop_all`, stops serving older entries and drops
  // every entry of the namespace, else only those whose key starts with `prefix`.
  void InvalidateBroadly(absl::string_view ns, bool drop_all, absl::string_view prefix);

  const Clock& clock_;
  const NearCacheMetrics* const metrics_;
  std::vector<std::unique_ptr<NearShard>> shards_;
  mutable absl::Mutex namespaces_mutex_;
  // Never shrinks: a namespace's state lives as long as the cache (tickets point at it).
  absl::flat_hash_map<std::string, std::unique_ptr<NearNamespace>> namespaces_
      ABSL_GUARDED_BY(namespaces_mutex_);
};

}  // namespace larder::client::internal

// NearNamespace, NearTable and NearShard: the parts of the near cache (near_cache.h, whose top
// comment explains the design). A NearNamespace is one watched namespace's shared atomic state;
// a NearShard is one independently locked part of the store, holding per namespace a NearTable
// of entries and key invalidation marks, and S3-FIFO queues (near_fifo.h) over all of them.
// Internal to client/src.
//
//   NearShard shard(max_bytes, max_entries, max_key_marks, clock, metrics);
//   shard.Install(ticket, "42", hash, std::move(entry), charge);   // checks the race marks
//   shard.InvalidateKey(ns, "42", ns.invalidations.fetch_add(1) + 1);
//   shard.Lookup("users", "42", result);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "client/src/near_cache.h"
#include "client/src/near_fifo.h"

namespace larder::client::internal {

// One namespace's state, shared by all shards. Lives as long as its NearCache.
struct NearNamespace {
  explicit NearNamespace(absl::string_view name) : name(name) {}

  // Whether `epoch` is one of a live namespace.
  static bool IsLive(uint64_t epoch) { return epoch % 2 == 1; }

  const std::string name;
  // Odd while live; every OnReset and OnDown moves it to a new value.
  std::atomic<uint64_t> epoch{0};
  // Tickets whose counter is below this are refused (namespace-wide invalidations).
  std::atomic<uint64_t> refuse_below{0};
  // Entries installed with a ticket whose counter is below this are not served (all, tag,
  // pattern invalidations).
  std::atomic<uint64_t> serve_from{0};
  // Incremented by every invalidation. On its own cache line: invalidations write it while
  // hits read the fields above.
  alignas(64) std::atomic<uint64_t> invalidations{0};
};

// One namespace's part of a shard. Guarded by the shard's mutex.
struct NearTable {
  explicit NearTable(const NearNamespace& ns) : ns(&ns) {}

  const NearNamespace* ns;
  absl::node_hash_map<std::string, NearNode> entries;
  // Per key, the invalidation counter of its latest key invalidation.
  absl::flat_hash_map<std::string, uint64_t> key_marks;
  uint64_t highest_mark = 0;  // The largest counter ever put in key_marks.
  uint64_t floor = 0;         // Tickets below this are refused: covers forgotten key marks.
};

enum class NearInstallResult {
  kInstalled,
  kRaced,   // The ticket's epoch is over, or an invalidation that may cover the key followed it.
  kNoRoom,  // The charge exceeds the shard's share of the limits.
};

// Thread-safe: one absl::Mutex, held for every call.
class NearShard {
 public:
  // `clock` and `metrics` (nullable) must outlive the shard, which counts its evictions and
  // keeps the bytes and entries gauges current (and gives its share back when destroyed).
  NearShard(int64_t max_bytes, int64_t max_entries, int64_t max_key_marks, const Clock& clock,
            const NearCacheMetrics* metrics);
  ~NearShard();
  NearShard(const NearShard&) = delete;
  NearShard& operator=(const NearShard&) = delete;

  // NearCache::Lookup within this shard. O(1).
  bool Lookup(absl::string_view ns, absl::string_view key, GetResult& out)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Installs under the race check (see near_cache.h). O(1) amortised plus evictions.
  NearInstallResult Install(const NearTicket& ticket, absl::string_view key, uint64_t hash,
                            NearEntry&& entry, int64_t charge) ABSL_LOCKS_EXCLUDED(mutex_);
  // Records `counter` as the key's latest invalidation and drops its entry. O(1) amortised.
  void InvalidateKey(const NearNamespace& ns, absl::string_view key, uint64_t counter)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Drops the entries of `ns` whose key starts with `prefix`. O(entries of ns here).
  void DropPrefix(absl::string_view ns, absl::string_view prefix) ABSL_LOCKS_EXCLUDED(mutex_);
  // Drops every entry and key mark of `ns` (raising its floor). O(entries and marks of ns here).
  void DropNamespace(absl::string_view ns) ABSL_LOCKS_EXCLUDED(mutex_);

  int64_t bytes() const ABSL_LOCKS_EXCLUDED(mutex_);
  int64_t entries() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  NearTable& TableFor(const NearNamespace& ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Whether an Install with `ticket` of `key` would be refused by the race check.
  static bool Raced(const NearTable& table, const NearTicket& ticket, absl::string_view key);
  // Unlinks, uncharges and erases a node.
  void Erase(NearNode& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Evicts until an entry charged `charge` fits.
  void EvictFor(int64_t charge) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RecordKeyMark(NearTable& table, absl::string_view key, uint64_t counter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Forgets the table's key marks, raising its floor over them.
  void ForgetKeyMarks(NearTable& table) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Adds to the bytes and entries gauges.
  void Account(int64_t bytes, int64_t entries) const;

  const int64_t max_bytes_;
  const int64_t max_entries_;
  const int64_t max_key_marks_;
  const Clock& clock_;
  const NearCacheMetrics* const metrics_;

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<NearTable>> tables_ ABSL_GUARDED_BY(mutex_);
  NearFifo fifo_ ABSL_GUARDED_BY(mutex_);
  int64_t key_marks_ ABSL_GUARDED_BY(mutex_) = 0;  // In all tables.
};

}  // namespace larder::client::internal

// MemoryShard: one independently locked part of the memory engine: namespace tables of entries
// (memory_namespace.h), an S3-FIFO eviction budget that also pays for the tables, tag sets and
// retired namespace counts (memory_retired.h), running totals for Stats, and the list of
// expiring entries the sweeper walks.
// Internal to server/storage/memory. Thread-safe: one absl::Mutex, shared for reads.
//
//   MemoryShard shard(/*capacity_bytes=*/64 << 20);
//   shard.Set("users", "42", hash, value, options, now);
//   const uint64_t written_up_to = shard.write_sequence();   // before Invalidate walks
//   shard.Invalidate("users", scan, written_up_to, now);
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/glob.h"
#include "server/storage/memory/memory_namespace.h"
#include "server/storage/memory/memory_node.h"
#include "server/storage/memory/memory_retired.h"
#include "server/storage/storage_engine.h"

namespace larder::storage::internal {

// What one Invalidate selects, prepared once and used for every shard. Views into the
// InvalidateTarget (and the compiled glob) of the call, which outlive it.
struct InvalidateScan {
  InvalidateTarget::Kind kind = InvalidateTarget::Kind::kAll;
  // Every selected key starts with this: the prefix of kPrefix, the literal prefix of kPattern's
  // glob, empty otherwise. The walk visits only this range of the key index.
  absl::string_view range_prefix;
  const CompiledGlob* glob = nullptr;  // kPattern: selects the keys it matches.
  absl::string_view tag;               // kTag: the walk visits this tag's set instead.
};

// What a shard holds beyond its entries, for MemoryEngine::Usage.
struct ShardUsage {
  int64_t charged_bytes = 0;   // Entries plus namespace, tag and retired-count bookkeeping.
  int64_t capacity_bytes = 0;  // The budget charged_bytes is kept under.
  int64_t namespace_tables = 0;
  int64_t tag_sets = 0;
  int64_t retired_namespaces = 0;
};

class MemoryShard {
 public:
  explicit MemoryShard(int64_t capacity_bytes)
      : capacity_bytes_(capacity_bytes), queues_(MemoryQueueLimits(capacity_bytes)) {}

  // Where evictions are reported (a key change each), from now on; called under the shard's
  // lock, so the listener only queues.
  void set_change_listener(ChangeListener* listener) {
    listener_.store(listener, std::memory_order_release);
  }

  // O(1): a hash lookup under the shared lock.
  std::optional<StoredEntry> Get(absl::string_view ns, absl::string_view key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // O(tags + log keys of ns when the key is new), plus the evictions it causes. The stored entry
  // is never the one evicted unless it alone exceeds the shard's budget (which
  // MemoryEngine::Create rules out for entries within max_entry_bytes).
  SetResult Set(absl::string_view ns, absl::string_view key, uint64_t hash, absl::string_view value,
                const SetOptions& options, absl::Time now) ABSL_LOCKS_EXCLUDED(mutex_);
  bool Delete(absl::string_view ns, absl::string_view key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  std::optional<std::string> Touch(absl::string_view ns, absl::string_view key,
                                   absl::Time expires_at, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);

  // The sequence number of the latest stored write; every later write gets a larger one.
  uint64_t write_sequence() ABSL_LOCKS_EXCLUDED(mutex_);
  // Removes the entries of `ns` selected by `scan` whose sequence is at most `written_up_to`;
  // returns how many live ones went (expired ones count as expirations). Works in batches of at
  // most limits::kKeysPerLockedBatch visited keys, releasing the lock between batches and
  // resuming after the last key visited, so entries may come and go meanwhile.
  int64_t Invalidate(absl::string_view ns, const InvalidateScan& scan, uint64_t written_up_to,
                     absl::Time now) ABSL_LOCKS_EXCLUDED(mutex_);
  // Adds this shard's counters of `ns` (every namespace when empty) to `stats`. O(1). The
  // evictions and expirations of a namespace whose table here emptied are those of its retired
  // record, or zero once that record was dropped.
  void AddStats(absl::string_view ns, EngineStats& stats) ABSL_LOCKS_EXCLUDED(mutex_);
  ShardUsage Usage() ABSL_LOCKS_EXCLUDED(mutex_);
  // Appends to `out` up to `limit` of this shard's namespaces named after `after`, in order,
  // with their counts here. O(log namespaces + limit), holding the shared lock for at most
  // limits::kKeysPerLockedBatch namespaces at a time.
  void ListNamespaces(absl::string_view after, size_t limit, std::vector<NamespaceInfo>& out)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Examines up to `budget` expiring entries from where the last sweep stopped and removes the
  // expired ones; returns how many it removed.
  int64_t SweepExpired(absl::Time now, int budget) ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  // Running totals over every table of the shard; evictions and expirations never go down.
  struct Totals {
    int64_t entries = 0;
    int64_t bytes = 0;
    int64_t evictions = 0;
    int64_t expirations = 0;
  };

  MemoryNode* FindLocked(absl::string_view ns, absl::string_view key)
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  MemoryNode& InsertLocked(absl::string_view ns, absl::string_view key, uint64_t hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void AssignLocked(MemoryNode& node, absl::string_view value, const SetOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void AddBytesLocked(NamespaceTable& table, int64_t delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void SetExpiryLocked(MemoryNode& node, absl::Time expires_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void IndexTagsLocked(MemoryNode& node, bool add) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EraseLocked(MemoryNode& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Erases `node` if expired (counting it); true when it was.
  bool EraseIfExpiredLocked(MemoryNode& node, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  int64_t ChargedBytesLocked() const ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return queues_.bytes() + bookkeeping_bytes_ + retired_.charged_bytes();
  }
  void EvictOverBudgetLocked(const MemoryNode* protect) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Fills `batch` with the selected nodes among the next keys of the walk after `*resume_after`
  // (from the start of the range when empty) and moves `*resume_after` to the last key visited.
  // Returns false when the walk has nothing after this batch.
  bool CollectBatchLocked(absl::string_view ns, const InvalidateScan& scan, uint64_t written_up_to,
                          std::optional<std::string>& resume_after, std::vector<MemoryNode*>& batch)
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);

  const int64_t capacity_bytes_;
  std::atomic<ChangeListener*> listener_{nullptr};
  absl::Mutex mutex_;
  absl::node_hash_map<std::string, NamespaceTable> namespaces_ ABSL_GUARDED_BY(mutex_);
  // The keys of namespaces_, in order (views of the map's keys, which never move).
  absl::btree_set<absl::string_view> namespace_names_ ABSL_GUARDED_BY(mutex_);
  MemoryQueues queues_ ABSL_GUARDED_BY(mutex_);
  // What namespace tables and tag sets are charged (NamespaceCharge, TagSetCharge).
  int64_t bookkeeping_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t tag_sets_ ABSL_GUARDED_BY(mutex_) = 0;
  RetiredNamespaces retired_ ABSL_GUARDED_BY(mutex_);
  Totals totals_ ABSL_GUARDED_BY(mutex_);
  uint64_t write_sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<MemoryNode*> expiring_ ABSL_GUARDED_BY(mutex_);
  size_t sweep_cursor_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::storage::internal

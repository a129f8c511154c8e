// MemoryShard: one independently locked part of the memory engine: namespaces of entries, their
// tag index, an S3-FIFO eviction budget and the list of expiring entries the sweeper walks.
// Internal to server/storage/memory. Thread-safe: one absl::Mutex, shared for reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/memory/memory_node.h"
#include "server/storage/memory/s3_fifo.h"
#include "server/storage/storage_engine.h"

namespace larder::storage::internal {

// The entries of one namespace within one shard.
struct ShardCounters;

struct NamespaceTable {
  const std::string* name = nullptr;  // The key of this table in the shard's map.
  ShardCounters* counters = nullptr;  // This namespace's counters in the shard.
  absl::node_hash_map<std::string, MemoryNode> entries;
  absl::flat_hash_map<std::string, absl::flat_hash_set<MemoryNode*>> tags;
  int64_t bytes = 0;  // Sum of key + value sizes.
};

// Totals of one shard, engine-wide or for one namespace.
struct ShardCounters {
  int64_t evictions = 0;
  int64_t expirations = 0;
};

class MemoryShard {
 public:
  explicit MemoryShard(int64_t capacity_bytes) : queues_(capacity_bytes) {}

  std::optional<StoredEntry> Get(absl::string_view ns, absl::string_view key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  SetResult Set(absl::string_view ns, absl::string_view key, uint64_t hash, absl::string_view value,
                const SetOptions& options, absl::Time now) ABSL_LOCKS_EXCLUDED(mutex_);
  bool Delete(absl::string_view ns, absl::string_view key, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  std::optional<std::string> Touch(absl::string_view ns, absl::string_view key,
                                   absl::Time expires_at, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  int64_t Invalidate(absl::string_view ns, const InvalidateTarget& target, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Adds this shard's counters of `ns` (every namespace when empty) to `stats`.
  void AddStats(absl::string_view ns, EngineStats& stats) ABSL_LOCKS_EXCLUDED(mutex_);
  // Examines up to `budget` expiring entries from where the last sweep stopped and removes the
  // expired ones; returns how many it removed.
  int64_t SweepExpired(absl::Time now, int budget) ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  MemoryNode* FindLocked(absl::string_view ns, absl::string_view key)
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  MemoryNode& InsertLocked(absl::string_view ns, absl::string_view key, uint64_t hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void AssignLocked(MemoryNode& node, absl::string_view value, const SetOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void SetExpiryLocked(MemoryNode& node, absl::Time expires_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void IndexTagsLocked(MemoryNode& node, bool add) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EraseLocked(MemoryNode& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Erases `node` if expired (counting it); true when it was.
  bool EraseIfExpiredLocked(MemoryNode& node, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EvictOverBudgetLocked(const MemoryNode* protect) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  int64_t EraseMatchingLocked(NamespaceTable& table, const InvalidateTarget& target, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  absl::node_hash_map<std::string, NamespaceTable> namespaces_ ABSL_GUARDED_BY(mutex_);
  // Per-namespace eviction/expiration counts; kept after a namespace empties.
  absl::node_hash_map<std::string, ShardCounters> counters_ ABSL_GUARDED_BY(mutex_);
  S3FifoQueues queues_ ABSL_GUARDED_BY(mutex_);
  std::vector<MemoryNode*> expiring_ ABSL_GUARDED_BY(mutex_);
  size_t sweep_cursor_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::storage::internal

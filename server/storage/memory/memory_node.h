// MemoryNode: one entry of the memory engine, with the intrusive links of its shard's eviction
// queues (MemoryQueues: the S3-FIFO of larder/common/s3_fifo.h) and the write sequence number
// Invalidate uses to leave entries written after it began alone.
// Internal to server/storage/memory.
//
//   MemoryNode& node = table.entries[key];   // the shard fills every field under its lock
//   node.sequence = ++shard_write_sequence;
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "larder/common/s3_fifo.h"

namespace larder::storage::internal {

struct NamespaceTable;

inline constexpr size_t kNoExpirySlot = static_cast<size_t>(-1);

// Fields other than `frequency` are guarded by the owning shard's mutex.
struct MemoryNode {
  NamespaceTable* table = nullptr;   // The namespace holding this node.
  const std::string* key = nullptr;  // Points at the key stored in table->entries.
  uint64_t hash = 0;                 // Hash of (namespace, key), for the ghost queue.
  // The shard's write sequence when this value was stored: larger means written later.
  uint64_t sequence = 0;
  std::string value;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();
  std::vector<std::string> tags;
  int64_t charge = 0;  // Bytes this node counts against the shard's budget.

  // Eviction state (larder/common/s3_fifo.h). `frequency` is bumped by readers holding only a
  // shared lock.
  std::atomic<uint8_t> frequency{0};
  larder::internal::S3FifoQueue queue = larder::internal::S3FifoQueue::kNone;
  MemoryNode* prev = nullptr;  // Towards the newest.
  MemoryNode* next = nullptr;  // Towards the oldest.

  // Index in the shard's list of expiring nodes (for the sweeper), or kNoExpirySlot.
  size_t expiry_slot = kNoExpirySlot;
};

// A shard's eviction queues, and their limits for a shard budget of `capacity_bytes`: bytes
// only, and a small queue of 5% rather than the paper's 10% (+0.3 to +0.6 hit-ratio points on
// Zipf traces: bench/eviction_sim, docs/performance.md). The shard, not the queues, decides when
// it is over budget, since it also charges bookkeeping the queues do not hold.
using MemoryQueues = larder::internal::S3Fifo<MemoryNode>;
inline larder::internal::S3FifoLimits MemoryQueueLimits(int64_t capacity_bytes) {
  larder::internal::S3FifoLimits limits;
  limits.max_bytes = capacity_bytes;
  limits.small_queue_percent = 5;
  return limits;
}

// Bytes charged per entry beyond its key, value, ETag and tags: the node and its key string in
// the node_hash_map, the map slot, the entry's place in its namespace's ordered key index and in
// the sweeper's list, and allocation headers, rounded up.
inline constexpr int64_t kEntryOverheadBytes = 256;
static_assert(sizeof(MemoryNode) + sizeof(std::string) + 3 * sizeof(void*) + 16 <=
                  kEntryOverheadBytes,
              "kEntryOverheadBytes no longer covers a node");

// Bytes charged per tag of an entry beyond the tag's bytes: the entry's copy of the tag string
// and its place in the namespace's ordered set of keys carrying the tag.
inline constexpr int64_t kTagMembershipOverheadBytes = sizeof(std::string) + 16;

}  // namespace larder::storage::internal

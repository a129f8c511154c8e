// NearNode and NearFifo: one entry of the SDK's near cache (near_cache.h) and the eviction queues
// of one near-cache shard: the S3-FIFO larderd's memory engine also uses
// (larder/common/s3_fifo.h), bounding both bytes and entries, with the paper's 10% small queue.
// Internal to client/src; guarded by the owning shard's mutex.
//
//   NearFifo fifo(NearFifoLimits(/*max_bytes=*/1 << 20, /*max_entries=*/1000));
//   fifo.Insert(node);                         // after the node is in its table
//   while (!fifo.Fits(charge)) Erase(fifo.PopVictim());
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "larder/common/s3_fifo.h"

namespace larder::client::internal {

struct NearTable;

// Every field is guarded by the owning shard's mutex (`frequency` is atomic only because the
// queues are shared with larderd, whose readers bump it under a shared lock).
struct NearNode {
  NearTable* table = nullptr;        // The namespace table holding this node.
  const std::string* key = nullptr;  // Points at the key stored in table->entries.
  uint64_t hash = 0;                 // Hash of (namespace, key): shard choice and ghost list.
  std::string value;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();
  uint64_t epoch = 0;   // The namespace's epoch when installed.
  uint64_t ticket = 0;  // The invalidation counter of the ticket it was installed with.
  int64_t charge = 0;   // Bytes counted against the shard's budget.
  std::atomic<uint8_t> frequency{0};  // Reads since the last eviction pass, capped at 3.
  larder::internal::S3FifoQueue queue = larder::internal::S3FifoQueue::kNone;
  NearNode* prev = nullptr;  // Towards the newest.
  NearNode* next = nullptr;  // Towards the oldest.
};

// Not thread-safe: one per shard, used under the shard's mutex.
using NearFifo = larder::internal::S3Fifo<NearNode>;

// A shard's limits: its share of max_bytes and max_entries.
inline larder::internal::S3FifoLimits NearFifoLimits(int64_t max_bytes, int64_t max_entries) {
  larder::internal::S3FifoLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_entries = max_entries;
  limits.small_queue_percent = 10;
  return limits;
}

}  // namespace larder::client::internal

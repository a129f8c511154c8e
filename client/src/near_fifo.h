// NearNode and NearFifo: one entry of the SDK's near cache (near_cache.h) and the S3-FIFO
// eviction queues of one near-cache shard. The design is the memory engine's
// (server/storage/memory/s3_fifo.h): a small probationary FIFO holding ~10% of the budget, whose
// entries move to the main FIFO if read while there; a main FIFO that re-inserts entries read
// since their last pass; a ghost list of keys recently evicted from the small queue, which go
// straight to main when they return. A hit only bumps a 2-bit counter.
// Internal to client/src; guarded by the owning shard's mutex.
//
//   NearFifo fifo(/*max_bytes=*/1 << 20, /*max_entries=*/1000);
//   fifo.Insert(node);                         // after the node is in its table
//   while (!fifo.Fits(charge)) Erase(fifo.PopVictim());
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace larder::client::internal {

struct NearTable;

enum class NearQueue : uint8_t { kNone, kSmall, kMain };

// Every field is guarded by the owning shard's mutex.
struct NearNode {
  NearTable* table = nullptr;        // The namespace table holding this node.
  const std::string* key = nullptr;  // Points at the key stored in table->entries.
  uint64_t hash = 0;                 // Hash of (namespace, key): shard choice and ghost list.
  std::string value;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();
  uint64_t epoch = 0;     // The namespace's epoch when installed.
  uint64_t ticket = 0;    // The invalidation counter of the ticket it was installed with.
  int64_t charge = 0;     // Bytes counted against the shard's budget.
  uint8_t frequency = 0;  // Reads since the last eviction pass, capped at 3.
  NearQueue queue = NearQueue::kNone;
  NearNode* prev = nullptr;  // Towards the newest.
  NearNode* next = nullptr;  // Towards the oldest.
};

// Not thread-safe: one per shard, used under the shard's mutex.
class NearFifo {
 public:
  NearFifo(int64_t max_bytes, int64_t max_entries)
      : max_bytes_(max_bytes), max_entries_(max_entries) {}
  NearFifo(const NearFifo&) = delete;
  NearFifo& operator=(const NearFifo&) = delete;

  // Records a read of a linked node. O(1).
  static void RecordAccess(NearNode& node);

  // Links a new node: into main when its key was evicted recently (a ghost hit), else small.
  void Insert(NearNode& node);
  // Unlinks a node erased for another reason (invalidation, expiry, overwrite). O(1).
  void Remove(NearNode& node);
  // Unlinks and returns the next node to evict; nullptr when empty. Amortised O(1).
  NearNode* PopVictim();

  // Whether one more node charged `charge` bytes fits without evicting.
  bool Fits(int64_t charge) const {
    return bytes() + charge <= max_bytes_ && entries() + 1 <= max_entries_;
  }
  int64_t bytes() const { return small_.bytes + main_.bytes; }
  int64_t entries() const { return small_.count + main_.count; }

 private:
  struct Fifo {
    NearNode* newest = nullptr;
    NearNode* oldest = nullptr;
    int64_t bytes = 0;
    int64_t count = 0;
  };
  // A key hash remembered by the ghost list: how many slots of ghost_order_ hold it, and whether
  // it still counts as a ghost (false once its key returned, until it is evicted again).
  struct Ghost {
    uint32_t slots = 0;
    bool live = false;
  };

  static void PushNewest(Fifo& fifo, NearNode& node, NearQueue id);
  static void Unlink(Fifo& fifo, NearNode& node);
  Fifo& FifoOf(const NearNode& node) { return node.queue == NearQueue::kSmall ? small_ : main_; }
  bool SmallIsFull() const;
  NearNode* PopFromSmall();
  NearNode* PopFromMain();
  void RememberGhost(uint64_t hash);
  bool TakeGhost(uint64_t hash);

  const int64_t max_bytes_;
  const int64_t max_entries_;
  Fifo small_;
  Fifo main_;
  std::deque<uint64_t> ghost_order_;
  absl::flat_hash_map<uint64_t, Ghost> ghosts_;
};

}  // namespace larder::client::internal

// S3FifoQueues: the memory engine's eviction policy (S3-FIFO: a small probationary FIFO holding
// 5% of the budget, whose entries move to the main FIFO if read while there; a main FIFO that
// re-inserts entries read since their last pass; and a ghost list of keys recently evicted from
// the small queue, which go straight to main when they return). Reads only bump a 2-bit
// counter, so a hit never takes a write lock. The node being written is protected: it is evicted
// only when it is the last node left. Internal; one instance per shard, guarded by the shard's
// mutex.
//
//   S3FifoQueues queues(budget_bytes);
//   queues.Insert(node);                  // after the node is in the map
//   while (over budget) Erase(queues.PopVictim(/*protect=*/node));
#pragma once

#include <cstdint>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "server/storage/memory/memory_node.h"

namespace larder::storage::internal {

class S3FifoQueues {
 public:
  explicit S3FifoQueues(int64_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}
  S3FifoQueues(const S3FifoQueues&) = delete;
  S3FifoQueues& operator=(const S3FifoQueues&) = delete;

  // Records a read; safe under a shared lock.
  static void RecordAccess(MemoryNode& node);

  // Links a new node: into main when its key was evicted recently (a ghost hit), else small.
  void Insert(MemoryNode& node);
  // Unlinks a node that is being erased for another reason (delete, expiry, overwrite).
  void Remove(MemoryNode& node);
  // Adjusts the charged bytes of a linked node whose charge changed by `delta`.
  void Recharge(MemoryNode& node, int64_t delta);

  // Unlinks and returns the next node to evict, never `protect` unless nothing else is left;
  // nullptr when empty.
  MemoryNode* PopVictim(const MemoryNode* protect);

  int64_t charged_bytes() const { return small_.bytes + main_.bytes; }
  int64_t capacity_bytes() const { return capacity_bytes_; }

 private:
  struct Fifo {
    MemoryNode* newest = nullptr;
    MemoryNode* oldest = nullptr;
    int64_t bytes = 0;
    int64_t count = 0;
  };

  static void PushNewest(Fifo& fifo, MemoryNode& node, FifoQueue id);
  static void Unlink(Fifo& fifo, MemoryNode& node);
  Fifo& FifoOf(const MemoryNode& node) { return node.queue == FifoQueue::kSmall ? small_ : main_; }

  // The oldest node of `fifo` other than `protect`, or nullptr.
  static MemoryNode* OldestExcept(const Fifo& fifo, const MemoryNode* protect);
  MemoryNode* PopFromSmall(const MemoryNode* protect);
  MemoryNode* PopFromMain(const MemoryNode* protect);
  void RememberGhost(uint64_t hash);
  bool TakeGhost(uint64_t hash);

  int64_t capacity_bytes_;
  Fifo small_;
  Fifo main_;
  // A key hash remembered by the ghost list: how many slots of ghost_order_ hold it, and whether
  // it still counts as a ghost (false once its key returned, until it is evicted again).
  struct Ghost {
    uint32_t slots = 0;
    bool live = false;
  };
  std::deque<uint64_t> ghost_order_;
  absl::flat_hash_map<uint64_t, Ghost> ghosts_;
};

}  // namespace larder::storage::internal

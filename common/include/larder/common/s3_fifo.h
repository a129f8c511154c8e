// S3Fifo<Node>: the S3-FIFO eviction queues shared by larderd's memory engine
// (server/storage/memory) and the SDK's near cache (client/src/near_fifo.h). A small
// probationary FIFO takes new entries and passes on to the main FIFO those read while there; the
// main FIFO re-inserts entries read since their last pass; a ghost list remembers the key hashes
// recently evicted from the small queue, which go straight to main when they return. A read only
// bumps a 2-bit counter (a relaxed atomic), so a hit never needs a write lock.
// Internal (namespace larder::internal); header-only. Users link absl::flat_hash_map.
//
// Node is an intrusive entry with these fields, which the queues own while it is linked:
//   uint64_t hash;                  // Identifies the key for the ghost list.
//   int64_t charge;                 // Bytes counted against max_bytes; see Recharge.
//   std::atomic<uint8_t> frequency;
//   S3FifoQueue queue;              // kNone while unlinked.
//   Node* prev;                     // Towards the newest.
//   Node* next;                     // Towards the oldest.
//
//   S3FifoLimits limits;
//   limits.max_bytes = 1 << 20;
//   S3Fifo<MyNode> fifo(limits);
//   fifo.Insert(node);                                     // after the node is in its table
//   while (!fifo.Fits(charge)) Erase(fifo.PopVictim());    // or PopVictim(/*protect=*/&node)
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>

#include "absl/container/flat_hash_map.h"

namespace larder::internal {

enum class S3FifoQueue : uint8_t { kNone, kSmall, kMain };

struct S3FifoLimits {
  // Bytes the linked nodes may be charged in all (Fits, and the small queue's share).
  // Default: 0; set it.
  int64_t max_bytes = 0;
  // Nodes the queues may hold (Fits, and the small queue's share). Default: no limit.
  int64_t max_entries = std::numeric_limits<int64_t>::max();
  // The small queue's share of both limits, in percent: PopVictim evicts from the small queue
  // first once it holds this share of either. Default: 10, the S3-FIFO paper's.
  int small_queue_percent = 10;
};

// Not thread-safe: one instance per shard, used under the shard's mutex. RecordAccess alone may
// run concurrently with itself (readers holding a shared lock), never with the other methods.
template <typename Node>
class S3Fifo {
 public:
  explicit S3Fifo(const S3FifoLimits& limits)
      : max_bytes_(limits.max_bytes),
        max_entries_(limits.max_entries),
        small_max_bytes_(PercentOf(limits.max_bytes, limits.small_queue_percent)),
        small_max_entries_(
            std::max<int64_t>(1, PercentOf(limits.max_entries, limits.small_queue_percent))) {}
  S3Fifo(const S3Fifo&) = delete;
  S3Fifo& operator=(const S3Fifo&) = delete;

  // Records a read of a node (linked or not). O(1).
  static void RecordAccess(Node& node) {
    const uint8_t frequency = node.frequency.load(std::memory_order_relaxed);
    if (frequency < kMaxFrequency) node.frequency.store(frequency + 1, std::memory_order_relaxed);
  }

  // Links an unlinked node: into main when its hash was evicted recently (a ghost hit), else
  // into small. O(1) amortised.
  void Insert(Node& node);
  // Unlinks a node leaving for another reason (delete, expiry, overwrite); no-op when unlinked.
  // O(1).
  void Remove(Node& node) {
    if (node.queue != S3FifoQueue::kNone) Unlink(FifoOf(node), node);
  }
  // Counts `delta` more bytes for a linked node whose charge grew by `delta` (node.charge must
  // hold the new charge by the time the node is unlinked). No-op when unlinked. O(1).
  void Recharge(Node& node, int64_t delta) {
    if (node.queue != S3FifoQueue::kNone) FifoOf(node).bytes += delta;
  }
  // Unlinks and returns the next node to evict, never `protect` (nullable) unless nothing else
  // is left; nullptr when empty. O(1) amortised: a pass over a node lowers its frequency.
  Node* PopVictim(const Node* protect = nullptr);

  // Whether one more node charged `charge` bytes fits both limits without evicting.
  bool Fits(int64_t charge) const {
    return bytes() + charge <= max_bytes_ && entries() + 1 <= max_entries_;
  }
  int64_t bytes() const { return small_.bytes + main_.bytes; }
  int64_t entries() const { return small_.count + main_.count; }

 private:
  static constexpr uint8_t kMaxFrequency = 3;
  // The ghost list never shrinks below this many hashes, so tiny shards still learn.
  static constexpr size_t kMinGhostEntries = 64;

  struct Fifo {
    Node* newest = nullptr;
    Node* oldest = nullptr;
    int64_t bytes = 0;
    int64_t count = 0;
  };
  // A hash remembered by the ghost list: how many slots of ghost_order_ hold it, and whether it
  // still counts as a ghost (false once its key returned, until it is evicted again).
  struct Ghost {
    uint32_t slots = 0;
    bool live = false;
  };

  // floor(total * percent / 100), without overflow for any int64_t total.
  static int64_t PercentOf(int64_t total, int percent) {
    return total / 100 * percent + total % 100 * percent / 100;
  }
  bool SmallIsFull() const {
    return small_.bytes >= small_max_bytes_ || small_.count >= small_max_entries_;
  }
  Fifo& FifoOf(const Node& node) { return node.queue == S3FifoQueue::kSmall ? small_ : main_; }
  static void PushNewest(Fifo& fifo, Node& node, S3FifoQueue id);
  static void Unlink(Fifo& fifo, Node& node);
  // The oldest node of `fifo` other than `protect`, or nullptr.
  static Node* OldestExcept(const Fifo& fifo, const Node* protect) {
    Node* oldest = fifo.oldest;
    return oldest != nullptr && oldest == protect ? oldest->prev : oldest;
  }
  Node* PopFromSmall(const Node* protect);
  Node* PopFromMain(const Node* protect);
  void RememberGhost(uint64_t hash);
  bool TakeGhost(uint64_t hash);

  const int64_t max_bytes_;
  const int64_t max_entries_;
  const int64_t small_max_bytes_;    // The small queue's share of max_bytes_.
  const int64_t small_max_entries_;  // The small queue's share of max_entries_, at least 1.
  Fifo small_;
  Fifo main_;
  std::deque<uint64_t> ghost_order_;
  absl::flat_hash_map<uint64_t, Ghost> ghosts_;
};

template <typename Node>
void S3Fifo<Node>::Insert(Node& node) {
  node.frequency.store(0, std::memory_order_relaxed);
  if (TakeGhost(node.hash)) {
    PushNewest(main_, node, S3FifoQueue::kMain);
  } else {
    PushNewest(small_, node, S3FifoQueue::kSmall);
  }
}

// Every step below skips `protect` without moving it, so each returns nullptr only when its
// queue holds nothing but `protect`, and `protect` is taken only when it is the last node.
template <typename Node>
Node* S3Fifo<Node>::PopVictim(const Node* protect) {
  Node* victim = nullptr;
  if (SmallIsFull()) victim = PopFromSmall(protect);
  if (victim == nullptr) victim = PopFromMain(protect);
  if (victim == nullptr) victim = PopFromSmall(protect);
  if (victim == nullptr && protect != nullptr && protect->queue != S3FifoQueue::kNone) {
    victim = const_cast<Node*>(protect);
    Unlink(FifoOf(*victim), *victim);
  }
  return victim;
}

template <typename Node>
Node* S3Fifo<Node>::PopFromSmall(const Node* protect) {
  while (Node* oldest = OldestExcept(small_, protect)) {
    Unlink(small_, *oldest);
    if (oldest->frequency.load(std::memory_order_relaxed) > 0) {  // Read while on probation.
      oldest->frequency.store(0, std::memory_order_relaxed);
      PushNewest(main_, *oldest, S3FifoQueue::kMain);
      continue;
    }
    RememberGhost(oldest->hash);
    return oldest;
  }
  return nullptr;
}

template <typename Node>
Node* S3Fifo<Node>::PopFromMain(const Node* protect) {
  // Each pass either evicts or lowers a frequency, so this ends within a few rotations.
  while (Node* oldest = OldestExcept(main_, protect)) {
    Unlink(main_, *oldest);
    const uint8_t frequency = oldest->frequency.load(std::memory_order_relaxed);
    if (frequency == 0) return oldest;
    oldest->frequency.store(frequency - 1, std::memory_order_relaxed);
    PushNewest(main_, *oldest, S3FifoQueue::kMain);
  }
  return nullptr;
}

template <typename Node>
void S3Fifo<Node>::PushNewest(Fifo& fifo, Node& node, S3FifoQueue id) {
  node.queue = id;
  node.prev = nullptr;
  node.next = fifo.newest;
  if (fifo.newest != nullptr) fifo.newest->prev = &node;
  fifo.newest = &node;
  if (fifo.oldest == nullptr) fifo.oldest = &node;
  fifo.bytes += node.charge;
  ++fifo.count;
}

template <typename Node>
void S3Fifo<Node>::Unlink(Fifo& fifo, Node& node) {
  if (node.prev != nullptr) node.prev->next = node.next;
  if (node.next != nullptr) node.next->prev = node.prev;
  if (fifo.newest == &node) fifo.newest = node.next;
  if (fifo.oldest == &node) fifo.oldest = node.prev;
  node.prev = node.next = nullptr;
  node.queue = S3FifoQueue::kNone;
  fifo.bytes -= node.charge;
  --fifo.count;
}

template <typename Node>
void S3Fifo<Node>::RememberGhost(uint64_t hash) {
  ghost_order_.push_back(hash);
  Ghost& ghost = ghosts_[hash];
  ++ghost.slots;
  ghost.live = true;
  // As many hashes as the main queue holds nodes, as in the S3-FIFO paper.
  const size_t limit = std::max<size_t>(kMinGhostEntries, static_cast<size_t>(main_.count));
  while (ghost_order_.size() > limit) {
    auto it = ghosts_.find(ghost_order_.front());
    if (--it->second.slots == 0) ghosts_.erase(it);
    ghost_order_.pop_front();
  }
}

template <typename Node>
bool S3Fifo<Node>::TakeGhost(uint64_t hash) {
  auto it = ghosts_.find(hash);
  if (it == ghosts_.end() || !it->second.live) return false;
  it->second.live = false;  // Its slots in ghost_order_ still count until they age out.
  return true;
}

}  // namespace larder::internal

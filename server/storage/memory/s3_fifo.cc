#include "server/storage/memory/s3_fifo.h"

#include <algorithm>

namespace larder::storage::internal {
namespace {

constexpr uint8_t kMaxFrequency = 3;
// The small queue's share of the budget, as 1/kSmallQueueDivisor. 5% rather than the paper's
// 10%: +0.3 to +0.6 hit-ratio points on Zipf traces (bench/eviction_sim, docs/performance.md).
constexpr int64_t kSmallQueueDivisor = 20;
// The ghost list never shrinks below this many keys, so tiny shards still learn.
constexpr size_t kMinGhostEntries = 64;

}  // namespace

void S3FifoQueues::RecordAccess(MemoryNode& node) {
  uint8_t frequency = node.frequency.load(std::memory_order_relaxed);
  if (frequency < kMaxFrequency) {
    node.frequency.store(frequency + 1, std::memory_order_relaxed);
  }
}

void S3FifoQueues::Insert(MemoryNode& node) {
  node.frequency.store(0, std::memory_order_relaxed);
  if (TakeGhost(node.hash)) {
    PushNewest(main_, node, FifoQueue::kMain);
  } else {
    PushNewest(small_, node, FifoQueue::kSmall);
  }
}

void S3FifoQueues::Remove(MemoryNode& node) {
  if (node.queue == FifoQueue::kNone) return;
  Unlink(FifoOf(node), node);
}

void S3FifoQueues::Recharge(MemoryNode& node, int64_t delta) {
  if (node.queue == FifoQueue::kNone) return;
  FifoOf(node).bytes += delta;
}

// Every step below skips `protect` without moving it, so each returns nullptr only when its
// queue holds nothing but `protect`, and `protect` is taken only when it is the last node.
MemoryNode* S3FifoQueues::PopVictim(const MemoryNode* protect) {
  MemoryNode* victim = nullptr;
  if (small_.bytes >= capacity_bytes_ / kSmallQueueDivisor) victim = PopFromSmall(protect);
  if (victim == nullptr) victim = PopFromMain(protect);
  if (victim == nullptr) victim = PopFromSmall(protect);
  if (victim == nullptr && protect != nullptr && protect->queue != FifoQueue::kNone) {
    victim = const_cast<MemoryNode*>(protect);
    Unlink(FifoOf(*victim), *victim);
  }
  return victim;
}

MemoryNode* S3FifoQueues::OldestExcept(const Fifo& fifo, const MemoryNode* protect) {
  MemoryNode* oldest = fifo.oldest;
  return oldest != nullptr && oldest == protect ? oldest->prev : oldest;
}

MemoryNode* S3FifoQueues::PopFromSmall(const MemoryNode* protect) {
  while (MemoryNode* oldest = OldestExcept(small_, protect)) {
    Unlink(small_, *oldest);
    if (oldest->frequency.load(std::memory_order_relaxed) > 0) {  // Read while on probation.
      oldest->frequency.store(0, std::memory_order_relaxed);
      PushNewest(main_, *oldest, FifoQueue::kMain);
      continue;
    }
    RememberGhost(oldest->hash);
    return oldest;
  }
  return nullptr;
}

MemoryNode* S3FifoQueues::PopFromMain(const MemoryNode* protect) {
  // Each pass either evicts or lowers a frequency, so this ends within a few rotations.
  while (MemoryNode* oldest = OldestExcept(main_, protect)) {
    Unlink(main_, *oldest);
    const uint8_t frequency = oldest->frequency.load(std::memory_order_relaxed);
    if (frequency == 0) return oldest;
    oldest->frequency.store(frequency - 1, std::memory_order_relaxed);
    PushNewest(main_, *oldest, FifoQueue::kMain);
  }
  return nullptr;
}

void S3FifoQueues::PushNewest(Fifo& fifo, MemoryNode& node, FifoQueue id) {
  node.queue = id;
  node.prev = nullptr;
  node.next = fifo.newest;
  if (fifo.newest != nullptr) fifo.newest->prev = &node;
  fifo.newest = &node;
  if (fifo.oldest == nullptr) fifo.oldest = &node;
  fifo.bytes += node.charge;
  ++fifo.count;
}

void S3FifoQueues::Unlink(Fifo& fifo, MemoryNode& node) {
  if (node.prev != nullptr) node.prev->next = node.next;
  if (node.next != nullptr) node.next->prev = node.prev;
  if (fifo.newest == &node) fifo.newest = node.next;
  if (fifo.oldest == &node) fifo.oldest = node.prev;
  node.prev = node.next = nullptr;
  node.queue = FifoQueue::kNone;
  fifo.bytes -= node.charge;
  --fifo.count;
}

void S3FifoQueues::RememberGhost(uint64_t hash) {
  ghost_order_.push_back(hash);
  Ghost& ghost = ghosts_[hash];
  ++ghost.slots;
  ghost.live = true;
  // As many keys as the main queue holds, as in the S3-FIFO paper.
  const size_t limit = std::max<size_t>(kMinGhostEntries, main_.count);
  while (ghost_order_.size() > limit) {
    auto it = ghosts_.find(ghost_order_.front());
    if (--it->second.slots == 0) ghosts_.erase(it);
    ghost_order_.pop_front();
  }
}

bool S3FifoQueues::TakeGhost(uint64_t hash) {
  auto it = ghosts_.find(hash);
  if (it == ghosts_.end() || !it->second.live) return false;
  it->second.live = false;  // Its slots in ghost_order_ still count until they age out.
  return true;
}

}  // namespace larder::storage::internal

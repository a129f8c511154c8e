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

MemoryNode* S3FifoQueues::PopFromSmall(const MemoryNode* protect) {
  while (MemoryNode* oldest = small_.oldest) {
    if (oldest == protect) return nullptr;  // The protected node is alone in small.
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
  while (MemoryNode* oldest = main_.oldest) {
    if (oldest == protect && main_.count == 1) return nullptr;
    Unlink(main_, *oldest);
    uint8_t frequency = oldest->frequency.load(std::memory_order_relaxed);
    if (oldest == protect || frequency > 0) {
      if (frequency > 0) oldest->frequency.store(frequency - 1, std::memory_order_relaxed);
      PushNewest(main_, *oldest, FifoQueue::kMain);
      continue;
    }
    return oldest;
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
  ++ghost_counts_[hash];
  // As many keys as the main queue holds, as in the S3-FIFO paper.
  const size_t limit = std::max<size_t>(kMinGhostEntries, main_.count);
  while (ghost_order_.size() > limit) {
    auto it = ghost_counts_.find(ghost_order_.front());
    if (it != ghost_counts_.end() && --it->second == 0) ghost_counts_.erase(it);
    ghost_order_.pop_front();
  }
}

bool S3FifoQueues::TakeGhost(uint64_t hash) {
  auto it = ghost_counts_.find(hash);
  if (it == ghost_counts_.end()) return false;
  ghost_counts_.erase(it);  // Its slots in ghost_order_ are skipped when they age out.
  return true;
}

}  // namespace larder::storage::internal

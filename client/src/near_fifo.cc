#include "client/src/near_fifo.h"

#include <algorithm>

namespace larder::client::internal {
namespace {

constexpr uint8_t kMaxFrequency = 3;
// The small queue's share of both limits, as 1/kSmallQueueDivisor: the S3-FIFO paper's 10%.
constexpr int64_t kSmallQueueDivisor = 10;
// The ghost list never shrinks below this many keys, so tiny shards still learn.
constexpr size_t kMinGhostEntries = 64;

}  // namespace

void NearFifo::RecordAccess(NearNode& node) {
  if (node.frequency < kMaxFrequency) ++node.frequency;
}

void NearFifo::Insert(NearNode& node) {
  node.frequency = 0;
  if (TakeGhost(node.hash)) {
    PushNewest(main_, node, NearQueue::kMain);
  } else {
    PushNewest(small_, node, NearQueue::kSmall);
  }
}

void NearFifo::Remove(NearNode& node) {
  if (node.queue == NearQueue::kNone) return;
  Unlink(FifoOf(node), node);
}

NearNode* NearFifo::PopVictim() {
  NearNode* victim = nullptr;
  if (SmallIsFull()) victim = PopFromSmall();
  if (victim == nullptr) victim = PopFromMain();
  if (victim == nullptr) victim = PopFromSmall();
  return victim;
}

bool NearFifo::SmallIsFull() const {
  return small_.bytes >= max_bytes_ / kSmallQueueDivisor ||
         small_.count >= std::max<int64_t>(1, max_entries_ / kSmallQueueDivisor);
}

NearNode* NearFifo::PopFromSmall() {
  while (NearNode* oldest = small_.oldest) {
    Unlink(small_, *oldest);
    if (oldest->frequency > 0) {  // Read while on probation.
      oldest->frequency = 0;
      PushNewest(main_, *oldest, NearQueue::kMain);
      continue;
    }
    RememberGhost(oldest->hash);
    return oldest;
  }
  return nullptr;
}

NearNode* NearFifo::PopFromMain() {
  // Each pass either evicts or lowers a frequency, so this ends within a few rotations.
  while (NearNode* oldest = main_.oldest) {
    Unlink(main_, *oldest);
    if (oldest->frequency == 0) return oldest;
    --oldest->frequency;
    PushNewest(main_, *oldest, NearQueue::kMain);
  }
  return nullptr;
}

void NearFifo::PushNewest(Fifo& fifo, NearNode& node, NearQueue id) {
  node.queue = id;
  node.prev = nullptr;
  node.next = fifo.newest;
  if (fifo.newest != nullptr) fifo.newest->prev = &node;
  fifo.newest = &node;
  if (fifo.oldest == nullptr) fifo.oldest = &node;
  fifo.bytes += node.charge;
  ++fifo.count;
}

void NearFifo::Unlink(Fifo& fifo, NearNode& node) {
  if (node.prev != nullptr) node.prev->next = node.next;
  if (node.next != nullptr) node.next->prev = node.prev;
  if (fifo.newest == &node) fifo.newest = node.next;
  if (fifo.oldest == &node) fifo.oldest = node.prev;
  node.prev = node.next = nullptr;
  node.queue = NearQueue::kNone;
  fifo.bytes -= node.charge;
  --fifo.count;
}

void NearFifo::RememberGhost(uint64_t hash) {
  ghost_order_.push_back(hash);
  Ghost& ghost = ghosts_[hash];
  ++ghost.slots;
  ghost.live = true;
  // As many keys as the main queue holds, as in the S3-FIFO paper.
  const size_t limit = std::max<size_t>(kMinGhostEntries, static_cast<size_t>(main_.count));
  while (ghost_order_.size() > limit) {
    auto it = ghosts_.find(ghost_order_.front());
    if (--it->second.slots == 0) ghosts_.erase(it);
    ghost_order_.pop_front();
  }
}

bool NearFifo::TakeGhost(uint64_t hash) {
  auto it = ghosts_.find(hash);
  if (it == ghosts_.end() || !it->second.live) return false;
  it->second.live = false;  // Its slots in ghost_order_ still count until they age out.
  return true;
}

}  // namespace larder::client::internal

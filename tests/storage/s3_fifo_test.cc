// The S3-FIFO queues (larder/common/s3_fifo.h) on their own: which node each policy step picks,
// over the memory engine's nodes and limits, and the limits the near cache adds.
#include "larder/common/s3_fifo.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/storage/memory/memory_node.h"

namespace larder::storage::internal {
namespace {

using ::larder::internal::S3Fifo;
using ::larder::internal::S3FifoLimits;
using ::larder::internal::S3FifoQueue;

class S3FifoTest : public ::testing::Test {
 protected:
  MemoryNode& NewNode(uint64_t hash, int64_t charge = 10) {
    nodes_.push_back(std::make_unique<MemoryNode>());
    nodes_.back()->hash = hash;
    nodes_.back()->charge = charge;
    return *nodes_.back();
  }
  std::vector<std::unique_ptr<MemoryNode>> nodes_;
};

TEST_F(S3FifoTest, NewNodesEnterTheSmallQueueAndLeaveInInsertionOrder) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& first = NewNode(1);
  MemoryNode& second = NewNode(2);
  queues.Insert(first);
  queues.Insert(second);
  EXPECT_EQ(first.queue, S3FifoQueue::kSmall);
  EXPECT_EQ(queues.PopVictim(nullptr), &first);
  EXPECT_EQ(queues.PopVictim(nullptr), &second);
  EXPECT_EQ(queues.PopVictim(nullptr), nullptr);
  EXPECT_EQ(queues.bytes(), 0);
}

TEST_F(S3FifoTest, NodesReadOnProbationArePromotedToMain) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& read = NewNode(1);
  MemoryNode& unread = NewNode(2);
  queues.Insert(read);
  queues.Insert(unread);
  MemoryQueues::RecordAccess(read);
  EXPECT_EQ(queues.PopVictim(nullptr), &unread);
  EXPECT_EQ(read.queue, S3FifoQueue::kMain);
}

TEST_F(S3FifoTest, GhostHitGoesStraightToMain) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& evicted = NewNode(42);
  queues.Insert(evicted);
  ASSERT_EQ(queues.PopVictim(nullptr), &evicted);
  MemoryNode& returning = NewNode(42);
  queues.Insert(returning);
  EXPECT_EQ(returning.queue, S3FifoQueue::kMain);
}

TEST_F(S3FifoTest, MainQueueGivesReadNodesAnotherRound) {
  MemoryQueues queues(MemoryQueueLimits(50));
  MemoryNode& a = NewNode(1);
  MemoryNode& b = NewNode(2);
  for (MemoryNode* node : {&a, &b}) {  // Promote both through ghost hits.
    queues.Insert(*node);
    ASSERT_EQ(queues.PopVictim(nullptr), node);
    queues.Insert(*node);
    ASSERT_EQ(node->queue, S3FifoQueue::kMain);
  }
  MemoryQueues::RecordAccess(a);
  EXPECT_EQ(queues.PopVictim(nullptr), &b);
}

TEST_F(S3FifoTest, ProtectedNodeIsTakenOnlyWhenNothingElseIsLeft) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& old_node = NewNode(1);
  MemoryNode& fresh = NewNode(2);
  queues.Insert(old_node);
  queues.Insert(fresh);
  EXPECT_EQ(queues.PopVictim(&fresh), &old_node);
  EXPECT_EQ(queues.PopVictim(&fresh), &fresh);
}

TEST_F(S3FifoTest, ProtectedOldestOfSmallIsSkippedWhenOthersAreBehindIt) {
  MemoryQueues queues(MemoryQueueLimits(100));  // Main is empty: the case that used to evict the protected node.
  MemoryNode& overwritten = NewNode(1);
  MemoryNode& second = NewNode(2);
  MemoryNode& third = NewNode(3);
  for (MemoryNode* node : {&overwritten, &second, &third}) queues.Insert(*node);
  EXPECT_EQ(queues.PopVictim(&overwritten), &second);
  EXPECT_EQ(queues.PopVictim(&overwritten), &third);
  EXPECT_EQ(queues.PopVictim(&overwritten), &overwritten);
  EXPECT_EQ(queues.PopVictim(&overwritten), nullptr);
}

TEST_F(S3FifoTest, ProtectedNodeInSmallSurvivesWhileMainHasNodes) {
  MemoryQueues queues(MemoryQueueLimits(1000));
  MemoryNode& in_main = NewNode(1);
  queues.Insert(in_main);
  ASSERT_EQ(queues.PopVictim(nullptr), &in_main);
  queues.Insert(in_main);  // A ghost hit: straight to main.
  ASSERT_EQ(in_main.queue, S3FifoQueue::kMain);
  MemoryNode& fresh = NewNode(2);
  queues.Insert(fresh);
  EXPECT_EQ(queues.PopVictim(&fresh), &in_main);
  EXPECT_EQ(fresh.queue, S3FifoQueue::kSmall);
}

TEST_F(S3FifoTest, ProtectedOldestOfMainIsSkippedEvenWhenRead) {
  MemoryQueues queues(MemoryQueueLimits(20));
  MemoryNode& protect = NewNode(1);
  MemoryNode& other = NewNode(2);
  for (MemoryNode* node : {&protect, &other}) {  // Both into main through ghost hits.
    queues.Insert(*node);
    ASSERT_EQ(queues.PopVictim(nullptr), node);
    queues.Insert(*node);
    ASSERT_EQ(node->queue, S3FifoQueue::kMain);
  }
  MemoryQueues::RecordAccess(other);
  MemoryQueues::RecordAccess(other);
  EXPECT_EQ(queues.PopVictim(&protect), &other);
  EXPECT_EQ(protect.queue, S3FifoQueue::kMain);
}

TEST_F(S3FifoTest, ProtectedNodeIsNeverChosenWhileAnyOtherNodeIsLeft) {
  for (int protected_index = 0; protected_index < 6; ++protected_index) {
    MemoryQueues queues(MemoryQueueLimits(60));
    std::vector<MemoryNode*> nodes;
    for (int i = 0; i < 6; ++i) {
      nodes.push_back(&NewNode(static_cast<uint64_t>(100 * protected_index + i)));
      queues.Insert(*nodes.back());
      if (i % 2 == 1) MemoryQueues::RecordAccess(*nodes.back());
    }
    const MemoryNode* protect = nodes[protected_index];
    for (int left = 6; left > 1; --left) {
      MemoryNode* victim = queues.PopVictim(protect);
      ASSERT_NE(victim, nullptr);
      EXPECT_NE(victim, protect) << "protected " << protected_index << ", " << left << " left";
    }
    EXPECT_EQ(queues.PopVictim(protect), protect);
  }
}

TEST_F(S3FifoTest, KeyEvictedAgainAfterReturningIsStillAGhost) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& node = NewNode(7);
  queues.Insert(node);
  ASSERT_EQ(queues.PopVictim(nullptr), &node);
  queues.Insert(node);  // Ghost hit, then out of main and back through small.
  ASSERT_EQ(queues.PopVictim(nullptr), &node);
  queues.Insert(node);
  ASSERT_EQ(node.queue, S3FifoQueue::kSmall);
  ASSERT_EQ(queues.PopVictim(nullptr), &node);               // Remembered again.
  for (uint64_t other = 1000; other < 1000 + 63; ++other) {  // Age out one ghost slot.
    MemoryNode& filler = NewNode(other);
    queues.Insert(filler);
    ASSERT_EQ(queues.PopVictim(nullptr), &filler);
  }
  queues.Insert(node);
  EXPECT_EQ(node.queue, S3FifoQueue::kMain);
}

TEST_F(S3FifoTest, RemoveAndRechargeKeepTheByteCount) {
  MemoryQueues queues(MemoryQueueLimits(100));
  MemoryNode& node = NewNode(1, 30);
  queues.Insert(node);
  EXPECT_EQ(queues.bytes(), 30);
  queues.Recharge(node, 20);
  node.charge = 50;
  EXPECT_EQ(queues.bytes(), 50);
  queues.Remove(node);
  EXPECT_EQ(queues.bytes(), 0);
  EXPECT_EQ(node.queue, S3FifoQueue::kNone);
}

// The fields S3Fifo needs and nothing else: any node type with them works.
struct BareNode {
  uint64_t hash = 0;
  int64_t charge = 10;
  std::atomic<uint8_t> frequency{0};
  S3FifoQueue queue = S3FifoQueue::kNone;
  BareNode* prev = nullptr;
  BareNode* next = nullptr;
};

S3FifoLimits Limits(int64_t max_bytes, int64_t max_entries, int small_queue_percent) {
  S3FifoLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_entries = max_entries;
  limits.small_queue_percent = small_queue_percent;
  return limits;
}

// Leaves `node` in the main queue through a ghost hit.
void IntoMain(S3Fifo<BareNode>& fifo, BareNode& node) {
  fifo.Insert(node);
  ASSERT_EQ(fifo.PopVictim(), &node);
  fifo.Insert(node);
  ASSERT_EQ(node.queue, S3FifoQueue::kMain);
}

TEST(S3FifoLimitsTest, FitsHonoursBothLimits) {
  S3Fifo<BareNode> fifo(Limits(/*max_bytes=*/30, /*max_entries=*/2, 10));
  BareNode a, b;
  EXPECT_TRUE(fifo.Fits(30));
  EXPECT_FALSE(fifo.Fits(31));
  fifo.Insert(a);
  fifo.Insert(b);
  EXPECT_EQ(fifo.entries(), 2);
  EXPECT_EQ(fifo.bytes(), 20);
  EXPECT_FALSE(fifo.Fits(1));  // Bytes would fit; a third entry would not.
}

TEST(S3FifoLimitsTest, SmallQueueShareIsAParameter) {
  for (int percent : {5, 1}) {
    S3Fifo<BareNode> fifo(Limits(/*max_bytes=*/1000, S3FifoLimits().max_entries, percent));
    BareNode in_main{1}, in_small{2};
    IntoMain(fifo, in_main);
    fifo.Insert(in_small);
    // 10 bytes in small: under 5% of 1000, so main goes first; at 1% small is full.
    EXPECT_EQ(fifo.PopVictim(), percent == 5 ? &in_main : &in_small) << percent << "%";
  }
}

TEST(S3FifoLimitsTest, SmallQueueIsFullByEntryCountToo) {
  // Two entries of 10 bytes never fill 10% of 1 MiB; with max_entries 20 they fill 10% of it.
  for (int64_t max_entries : {int64_t{20}, S3FifoLimits().max_entries}) {
    S3Fifo<BareNode> fifo(Limits(/*max_bytes=*/1 << 20, max_entries, 10));
    BareNode in_main{1}, first{2}, second{3};
    IntoMain(fifo, in_main);
    fifo.Insert(first);
    fifo.Insert(second);
    EXPECT_EQ(fifo.PopVictim(), max_entries == 20 ? &first : &in_main) << max_entries;
  }
}

TEST(S3FifoLimitsTest, RecordAccessCapsAtThree) {
  BareNode node;
  for (int i = 0; i < 5; ++i) S3Fifo<BareNode>::RecordAccess(node);
  EXPECT_EQ(node.frequency.load(), 3);
}

}  // namespace
}  // namespace larder::storage::internal

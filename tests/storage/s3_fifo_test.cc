// The S3-FIFO queues on their own: which node each policy step picks.
#include "server/storage/memory/s3_fifo.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace larder::storage::internal {
namespace {

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
  S3FifoQueues queues(100);
  MemoryNode& first = NewNode(1);
  MemoryNode& second = NewNode(2);
  queues.Insert(first);
  queues.Insert(second);
  EXPECT_EQ(first.queue, FifoQueue::kSmall);
  EXPECT_EQ(queues.PopVictim(nullptr), &first);
  EXPECT_EQ(queues.PopVictim(nullptr), &second);
  EXPECT_EQ(queues.PopVictim(nullptr), nullptr);
  EXPECT_EQ(queues.charged_bytes(), 0);
}

TEST_F(S3FifoTest, NodesReadOnProbationArePromotedToMain) {
  S3FifoQueues queues(100);
  MemoryNode& read = NewNode(1);
  MemoryNode& unread = NewNode(2);
  queues.Insert(read);
  queues.Insert(unread);
  S3FifoQueues::RecordAccess(read);
  EXPECT_EQ(queues.PopVictim(nullptr), &unread);
  EXPECT_EQ(read.queue, FifoQueue::kMain);
}

TEST_F(S3FifoTest, GhostHitGoesStraightToMain) {
  S3FifoQueues queues(100);
  MemoryNode& evicted = NewNode(42);
  queues.Insert(evicted);
  ASSERT_EQ(queues.PopVictim(nullptr), &evicted);
  MemoryNode& returning = NewNode(42);
  queues.Insert(returning);
  EXPECT_EQ(returning.queue, FifoQueue::kMain);
}

TEST_F(S3FifoTest, MainQueueGivesReadNodesAnotherRound) {
  S3FifoQueues queues(50);
  MemoryNode& a = NewNode(1);
  MemoryNode& b = NewNode(2);
  for (MemoryNode* node : {&a, &b}) {  // Promote both through ghost hits.
    queues.Insert(*node);
    ASSERT_EQ(queues.PopVictim(nullptr), node);
    queues.Insert(*node);
    ASSERT_EQ(node->queue, FifoQueue::kMain);
  }
  S3FifoQueues::RecordAccess(a);
  EXPECT_EQ(queues.PopVictim(nullptr), &b);
}

TEST_F(S3FifoTest, ProtectedNodeIsTakenOnlyWhenNothingElseIsLeft) {
  S3FifoQueues queues(100);
  MemoryNode& old_node = NewNode(1);
  MemoryNode& fresh = NewNode(2);
  queues.Insert(old_node);
  queues.Insert(fresh);
  EXPECT_EQ(queues.PopVictim(&fresh), &old_node);
  EXPECT_EQ(queues.PopVictim(&fresh), &fresh);
}

TEST_F(S3FifoTest, ProtectedOldestOfSmallIsSkippedWhenOthersAreBehindIt) {
  S3FifoQueues queues(100);  // Main is empty: the case that used to evict the protected node.
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
  S3FifoQueues queues(1000);
  MemoryNode& in_main = NewNode(1);
  queues.Insert(in_main);
  ASSERT_EQ(queues.PopVictim(nullptr), &in_main);
  queues.Insert(in_main);  // A ghost hit: straight to main.
  ASSERT_EQ(in_main.queue, FifoQueue::kMain);
  MemoryNode& fresh = NewNode(2);
  queues.Insert(fresh);
  EXPECT_EQ(queues.PopVictim(&fresh), &in_main);
  EXPECT_EQ(fresh.queue, FifoQueue::kSmall);
}

TEST_F(S3FifoTest, ProtectedOldestOfMainIsSkippedEvenWhenRead) {
  S3FifoQueues queues(20);
  MemoryNode& protect = NewNode(1);
  MemoryNode& other = NewNode(2);
  for (MemoryNode* node : {&protect, &other}) {  // Both into main through ghost hits.
    queues.Insert(*node);
    ASSERT_EQ(queues.PopVictim(nullptr), node);
    queues.Insert(*node);
    ASSERT_EQ(node->queue, FifoQueue::kMain);
  }
  S3FifoQueues::RecordAccess(other);
  S3FifoQueues::RecordAccess(other);
  EXPECT_EQ(queues.PopVictim(&protect), &other);
  EXPECT_EQ(protect.queue, FifoQueue::kMain);
}

TEST_F(S3FifoTest, ProtectedNodeIsNeverChosenWhileAnyOtherNodeIsLeft) {
  for (int protected_index = 0; protected_index < 6; ++protected_index) {
    S3FifoQueues queues(60);
    std::vector<MemoryNode*> nodes;
    for (int i = 0; i < 6; ++i) {
      nodes.push_back(&NewNode(static_cast<uint64_t>(100 * protected_index + i)));
      queues.Insert(*nodes.back());
      if (i % 2 == 1) S3FifoQueues::RecordAccess(*nodes.back());
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
  S3FifoQueues queues(100);
  MemoryNode& node = NewNode(7);
  queues.Insert(node);
  ASSERT_EQ(queues.PopVictim(nullptr), &node);
  queues.Insert(node);  // Ghost hit, then out of main and back through small.
  ASSERT_EQ(queues.PopVictim(nullptr), &node);
  queues.Insert(node);
  ASSERT_EQ(node.queue, FifoQueue::kSmall);
  ASSERT_EQ(queues.PopVictim(nullptr), &node);               // Remembered again.
  for (uint64_t other = 1000; other < 1000 + 63; ++other) {  // Age out one ghost slot.
    MemoryNode& filler = NewNode(other);
    queues.Insert(filler);
    ASSERT_EQ(queues.PopVictim(nullptr), &filler);
  }
  queues.Insert(node);
  EXPECT_EQ(node.queue, FifoQueue::kMain);
}

TEST_F(S3FifoTest, RemoveAndRechargeKeepTheByteCount) {
  S3FifoQueues queues(100);
  MemoryNode& node = NewNode(1, 30);
  queues.Insert(node);
  EXPECT_EQ(queues.charged_bytes(), 30);
  queues.Recharge(node, 20);
  node.charge = 50;
  EXPECT_EQ(queues.charged_bytes(), 50);
  queues.Remove(node);
  EXPECT_EQ(queues.charged_bytes(), 0);
  EXPECT_EQ(node.queue, FifoQueue::kNone);
}

}  // namespace
}  // namespace larder::storage::internal

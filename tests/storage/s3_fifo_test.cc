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

// Redis Cluster routing (server/storage/redis/cluster_slots.h) against a real cluster of 3
// masters and 3 replicas (tests/testing/redis_cluster.h): KeySlot against CLUSTER KEYSLOT, the
// slot map against CLUSTER NODES, MOVED and ASK as nodes send them, and a failover.
#include <hiredis/hiredis.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::RedisClusterProcess;

constexpr absl::string_view kHost = "127.0.0.1";

class RedisClusterSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = RedisClusterProcess::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  // A connection to node `index` of the cluster.
  std::unique_ptr<RedisConnection> Connect(int index) {
    RedisEndpoint endpoint;
    endpoint.host = std::string(kHost);
    endpoint.port = cluster_->node(index).port();
    auto connection = RedisConnection::Open(endpoint, absl::Seconds(5), absl::Seconds(5));
    EXPECT_TRUE(connection.ok()) << connection.status();
    return connection.ok() ? *std::move(connection) : nullptr;
  }

  // The slot map as node `index` describes it.
  absl::StatusOr<SlotMap> MapFrom(int index) {
    std::unique_ptr<RedisConnection> connection = Connect(index);
    if (connection == nullptr) return absl::UnavailableError("no connection");
    absl::StatusOr<RedisReply> reply = connection->Run({"CLUSTER", "SLOTS"});
    if (!reply.ok()) return reply.status();
    absl::StatusOr<std::vector<SlotRange>> ranges = DecodeClusterSlotsReply(**reply, kHost);
    if (!ranges.ok()) return ranges.status();
    return SlotMap::FromRanges(*ranges);
  }

  // The error text a node answers to `command`, "" when it answers something else.
  std::string ErrorOf(RedisConnection& connection, std::vector<absl::string_view> command) {
    absl::StatusOr<std::vector<RedisReply>> replies = connection.RunPipeline({command});
    if (!replies.ok() || replies->size() != 1 || (*replies)[0]->type != REDIS_REPLY_ERROR) {
      return "";
    }
    return std::string((*replies)[0]->str, (*replies)[0]->len);
  }

  std::unique_ptr<RedisClusterProcess> cluster_;
};

// Keys of random bytes, braces made frequent so that hash tags of every shape occur.
std::vector<std::string> RandomKeys(int count) {
  std::mt19937 random(20261130);
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) {
    std::string key(random() % 12, '\0');
    for (char& c : key) {
      const uint32_t pick = random() % 8;
      c = pick == 0 ? '{' : pick == 1 ? '}' : static_cast<char>(random() % 256);
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

TEST_F(RedisClusterSlotsTest, KeySlotAgreesWithClusterKeyslot) {
  std::unique_ptr<RedisConnection> connection = Connect(0);
  ASSERT_NE(connection, nullptr);
  const std::vector<std::string> keys = RandomKeys(2000);
  std::vector<std::vector<absl::string_view>> commands;
  for (const std::string& key : keys) commands.push_back({"CLUSTER", "KEYSLOT", key});
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, connection->RunPipeline(commands));
  ASSERT_EQ(replies.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(replies[i]->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(KeySlot(keys[i]), replies[i]->integer) << absl::CEscape(keys[i]);
  }
}

TEST_F(RedisClusterSlotsTest, ClusterSlotsGivesEveryMasterAndReplicaAsClusterNodesDoes) {
  std::unique_ptr<RedisConnection> connection = Connect(1);
  ASSERT_NE(connection, nullptr);
  // A node lists a replica once it has heard of its replication offset (about a second).
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::vector<SlotRange> ranges;
  bool every_replica_listed = false;
  while (!every_replica_listed && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_OK_AND_ASSIGN(RedisReply reply, connection->Run({"CLUSTER", "SLOTS"}));
    ASSERT_OK_AND_ASSIGN(ranges, DecodeClusterSlotsReply(*reply, kHost));
    every_replica_listed = true;
    for (const SlotRange& range : ranges) every_replica_listed &= range.replicas.size() == 1;
  }
  EXPECT_TRUE(every_replica_listed);
  for (const SlotRange& range : ranges) {
    for (const NodeAddress& replica : range.replicas) {
      EXPECT_TRUE(cluster_->node(cluster_->NodeOnPort(replica.port)).running());
      EXPECT_NE(cluster_->NodeOnPort(replica.port), cluster_->NodeOnPort(range.master.port));
    }
  }
  ASSERT_OK_AND_ASSIGN(SlotMap map, SlotMap::FromRanges(ranges));
  EXPECT_EQ(map.UncoveredSlots(), 0);
  EXPECT_EQ(map.masters().size(), 3u);
  for (int slot : {0, 1, 5460, 5461, 10922, 10923, 16383}) {
    const NodeAddress& master = map.masters()[map.MasterOf(slot)];
    EXPECT_EQ(master.host, kHost);
    EXPECT_EQ(cluster_->NodeOnPort(master.port), cluster_->MasterOf(slot)) << "slot " << slot;
  }
}

TEST_F(RedisClusterSlotsTest, AMasterThatDoesNotOwnTheSlotAnswersMovedToTheOneThatDoes) {
  ASSERT_OK_AND_ASSIGN(SlotMap map, MapFrom(0));
  for (absl::string_view key : {"a", "larder:{ns}e:key", "larder:{other}e:key"}) {
    const uint16_t slot = KeySlot(key);
    const int owner = map.MasterOf(slot);
    const int other = (owner + 1) % static_cast<int>(map.masters().size());
    std::unique_ptr<RedisConnection> wrong =
        Connect(cluster_->NodeOnPort(map.masters()[other].port));
    ASSERT_NE(wrong, nullptr);
    const std::string error = ErrorOf(*wrong, {"GET", key});
    const std::optional<Redirect> redirect = ParseRedirect(error, kHost);
    ASSERT_TRUE(redirect.has_value()) << error;
    EXPECT_EQ(redirect->kind, Redirect::Kind::kMoved);
    EXPECT_EQ(redirect->slot, slot);
    EXPECT_EQ(redirect->to, map.masters()[owner]);
  }
}

TEST_F(RedisClusterSlotsTest, AMigratingSlotAnswersAskForAKeyItNoLongerHas) {
  ASSERT_OK_AND_ASSIGN(SlotMap map, MapFrom(0));
  const absl::string_view key = "larder:{moving}e:absent";
  const uint16_t slot = KeySlot(key);
  const NodeAddress& from = map.masters()[map.MasterOf(slot)];
  const NodeAddress& to = map.masters()[(map.MasterOf(slot) + 1) % 3];
  std::unique_ptr<RedisConnection> source = Connect(cluster_->NodeOnPort(from.port));
  std::unique_ptr<RedisConnection> target = Connect(cluster_->NodeOnPort(to.port));
  ASSERT_TRUE(source != nullptr && target != nullptr);
  ASSERT_OK_AND_ASSIGN(RedisReply source_id, source->Run({"CLUSTER", "MYID"}));
  ASSERT_OK_AND_ASSIGN(RedisReply target_id, target->Run({"CLUSTER", "MYID"}));
  const std::string slot_text = absl::StrCat(slot);
  ASSERT_OK(
      target->Run({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", StringOf(*source_id)}).status());
  ASSERT_OK(
      source->Run({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", StringOf(*target_id)}).status());

  const std::string error = ErrorOf(*source, {"GET", key});
  const std::optional<Redirect> redirect = ParseRedirect(error, kHost);
  ASSERT_TRUE(redirect.has_value()) << error;
  EXPECT_EQ(redirect->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(redirect->slot, slot);
  EXPECT_EQ(redirect->to, to);
  // The target serves the key after ASKING, and redirects it back without.
  EXPECT_EQ(ParseRedirect(ErrorOf(*target, {"GET", key}), kHost)->kind, Redirect::Kind::kMoved);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> asked,
                       target->RunPipeline({{"ASKING"}, {"GET", key}}));
  EXPECT_EQ(asked[1]->type, REDIS_REPLY_NIL);
}

TEST_F(RedisClusterSlotsTest, AKilledMasterIsReplacedByItsReplicaInTheSlotMap) {
  ASSERT_OK_AND_ASSIGN(SlotMap before, MapFrom(0));
  const int killed = cluster_->NodeOnPort(before.masters()[before.MasterOf(0)].port);
  cluster_->node(killed).Kill();
  ASSERT_OK(cluster_->AwaitHealthy(absl::Seconds(30)));
  const int survivor = killed == 0 ? 1 : 0;
  ASSERT_OK_AND_ASSIGN(SlotMap after, MapFrom(survivor));
  EXPECT_EQ(after.UncoveredSlots(), 0);
  const int promoted = cluster_->NodeOnPort(after.masters()[after.MasterOf(0)].port);
  EXPECT_NE(promoted, killed);
  EXPECT_TRUE(cluster_->node(promoted).running());
  EXPECT_EQ(promoted, cluster_->MasterOf(0));
}

}  // namespace
}  // namespace larder::storage::internal

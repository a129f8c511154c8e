// Redis Cluster routing (server/storage/redis/cluster_slots.h) without a server: CRC16 and hash
// tags, MOVED / ASK parsing, CLUSTER SLOTS replies built by hiredis's own reader, and the slot
// map. tests/storage/redis_cluster_slots_test.cc checks the same against a real cluster.
#include "server/storage/redis/cluster_slots.h"

#include <hiredis/hiredis.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/redis/redis_connection.h"
#include "tests/storage/read_resp.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {

void PrintTo(const NodeAddress& node, std::ostream* out) { *out << node.Describe(); }

namespace {

using ::larder::testing::StatusCodeIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

NodeAddress Node(absl::string_view host, int port) { return NodeAddress{std::string(host), port}; }

TEST(KeySlotTest, Crc16IsXmodem) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);  // The published XMODEM check value.
  EXPECT_EQ(Crc16(""), 0);
}

TEST(KeySlotTest, MatchesTheSlotsRedisDocumentsForCLUSTERKEYSLOT) {
  EXPECT_EQ(KeySlot("somekey"), 11058);
  EXPECT_EQ(KeySlot("foo{hash_tag}"), 2515);
  EXPECT_EQ(KeySlot("bar{hash_tag}"), 2515);
}

TEST(KeySlotTest, OnlyTheFirstNonEmptyHashTagIsHashed) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  // An empty tag, or a '{' without a '}' after it: the whole key is hashed.
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") % kClusterSlots);
  EXPECT_EQ(KeySlot("foo{bar"), Crc16("foo{bar") % kClusterSlots);
  EXPECT_EQ(KeySlot("}foo{"), Crc16("}foo{") % kClusterSlots);
}

TEST(KeySlotTest, EverySlotIsBelow16384AndBinaryKeysWork) {
  const std::string binary("\0{\xff\0}", 5);
  EXPECT_EQ(KeySlot(binary), KeySlot(std::string("\xff\0", 2)));
  for (int i = 0; i < 1000; ++i) EXPECT_LT(KeySlot(std::to_string(i)), kClusterSlots);
}

TEST(ParseRedirectTest, MovedAndAskNameTheSlotAndTheNode) {
  const std::optional<Redirect> moved = ParseRedirect("MOVED 3999 127.0.0.1:6381", "10.0.0.1");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, Node("127.0.0.1", 6381));
  const std::optional<Redirect> ask = ParseRedirect("ASK 16383 redis-2.local:30002", "x");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->slot, 16383);
  EXPECT_EQ(ask->to, Node("redis-2.local", 30002));
}

TEST(ParseRedirectTest, AnUnknownEndpointIsTheHostThatAnswered) {
  const std::optional<Redirect> moved = ParseRedirect("MOVED 0 :7001", "10.0.0.1");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->to, Node("10.0.0.1", 7001));
}

TEST(ParseRedirectTest, AnIpv6EndpointEndsAtTheLastColon) {
  const std::optional<Redirect> moved = ParseRedirect("MOVED 12 ::1:7002", "x");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->to, Node("::1", 7002));
  EXPECT_EQ(moved->to.Describe(), "[::1]:7002");
  EXPECT_EQ(Node("127.0.0.1", 1).Describe(), "127.0.0.1:1");
}

TEST(ParseRedirectTest, AnythingElseIsNotARedirect) {
  for (absl::string_view error :
       {"ERR unknown command", "MOVED", "MOVED 1", "MOVED 1 host", "MOVED 16384 h:1",
        "MOVED -1 h:1", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED x h:1", "MOVED 1 h:1x",
        "ASK 1 a b:1", "moved 1 h:1", "MOVED 1 h:", "ASKING 1 h:1", "CLUSTERDOWN Hash slot"}) {
    EXPECT_EQ(ParseRedirect(error, "x"), std::nullopt) << error;
  }
}

// CLUSTER SLOTS as Redis 7 sends it: two ranges of one master (with id and metadata), a second
// master with a replica.
constexpr absl::string_view kRedis7Slots =
    "*3\r\n"
    "*4\r\n:0\r\n:99\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid0\r\n*2\r\n$8\r\nhostname\r\n$2\r\nh0\r\n"
    "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$3\r\nid3\r\n"
    "*3\r\n:100\r\n:16382\r\n*2\r\n$9\r\n127.0.0.2\r\n:7001\r\n"
    "*3\r\n:16383\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid0\r\n*0\r\n";

TEST(DecodeClusterSlotsReplyTest, DecodesRangesMastersAndReplicas) {
  ASSERT_OK_AND_ASSIGN(std::vector<SlotRange> ranges,
                       DecodeClusterSlotsReply(*ReadResp(kRedis7Slots), "seed"));
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 99);
  EXPECT_EQ(ranges[0].master, Node("127.0.0.1", 7000));
  EXPECT_THAT(ranges[0].replicas, ElementsAre(Node("127.0.0.1", 7003)));
  EXPECT_EQ(ranges[1].master, Node("127.0.0.2", 7001));
  EXPECT_TRUE(ranges[1].replicas.empty());
  EXPECT_EQ(ranges[2].first, 16383);
}

TEST(DecodeClusterSlotsReplyTest, UnknownEndpointsBecomeTheAskedHost) {
  const RedisReply reply = ReadResp(
      "*1\r\n*5\r\n:0\r\n:16383\r\n*2\r\n$-1\r\n:7000\r\n*2\r\n$1\r\n?\r\n:7001\r\n"
      "*2\r\n$0\r\n\r\n:7002\r\n");
  ASSERT_OK_AND_ASSIGN(std::vector<SlotRange> ranges, DecodeClusterSlotsReply(*reply, "seed"));
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].master, Node("seed", 7000));
  EXPECT_THAT(ranges[0].replicas, ElementsAre(Node("seed", 7001), Node("seed", 7002)));
}

TEST(DecodeClusterSlotsReplyTest, AnErrorReplyBecomesItsStatus) {
  EXPECT_THAT(DecodeClusterSlotsReply(
                  *ReadResp("-ERR This instance has cluster support disabled\r\n"), "seed"),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeClusterSlotsReply(*ReadResp("-CLUSTERDOWN The cluster is down\r\n"), "seed"),
              StatusCodeIs(absl::StatusCode::kUnavailable));
}

TEST(DecodeClusterSlotsReplyTest, RefusesEveryOtherShape) {
  for (absl::string_view resp : {
           "$2\r\nok\r\n",                                          // Not an array.
           "*1\r\n:0\r\n",                                          // A range that is not an array.
           "*1\r\n*2\r\n:0\r\n:1\r\n",                              // No master.
           "*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",       // last < first.
           "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",   // Past the last slot.
           "*1\r\n*3\r\n:-1\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",      // Negative.
           "*1\r\n*3\r\n$1\r\n0\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",  // A slot as a string.
           "*1\r\n*3\r\n:0\r\n:4\r\n*1\r\n$1\r\nh\r\n",             // A node without a port.
           "*1\r\n*3\r\n:0\r\n:4\r\n*2\r\n$1\r\nh\r\n:0\r\n",       // Port 0.
           "*1\r\n*3\r\n:0\r\n:4\r\n*2\r\n:1\r\n:1\r\n",            // An endpoint as an integer.
           "*1\r\n*4\r\n:0\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n:7\r\n",  // A replica that is no node.
       }) {
    EXPECT_THAT(DecodeClusterSlotsReply(*ReadResp(resp), "seed"),
                StatusCodeIs(absl::StatusCode::kInternal))
        << resp;
  }
}

TEST(SlotMapTest, MapsEverySlotToItsMasterOnce) {
  ASSERT_OK_AND_ASSIGN(std::vector<SlotRange> ranges,
                       DecodeClusterSlotsReply(*ReadResp(kRedis7Slots), "seed"));
  ASSERT_OK_AND_ASSIGN(SlotMap map, SlotMap::FromRanges(ranges));
  EXPECT_THAT(map.masters(), ElementsAre(Node("127.0.0.1", 7000), Node("127.0.0.2", 7001)));
  EXPECT_EQ(map.MasterOf(0), 0);
  EXPECT_EQ(map.MasterOf(99), 0);
  EXPECT_EQ(map.MasterOf(100), 1);
  EXPECT_EQ(map.MasterOf(16382), 1);
  EXPECT_EQ(map.MasterOf(16383), 0);
  EXPECT_EQ(map.UncoveredSlots(), 0);
}

TEST(SlotMapTest, SlotsNoRangeCoversHaveNoMaster) {
  ASSERT_OK_AND_ASSIGN(SlotMap map, SlotMap::FromRanges({SlotRange{10, 19, Node("a", 1), {}}}));
  EXPECT_EQ(map.MasterOf(9), -1);
  EXPECT_EQ(map.MasterOf(10), 0);
  EXPECT_EQ(map.MasterOf(20), -1);
  EXPECT_EQ(map.UncoveredSlots(), kClusterSlots - 10);
}

TEST(SlotMapTest, RefusesOverlapsOutOfRangeSlotsAndNothing) {
  EXPECT_THAT(SlotMap::FromRanges({}), StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(SlotMap::FromRanges(
                  {SlotRange{0, 10, Node("a", 1), {}}, SlotRange{10, 20, Node("b", 1), {}}}),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(SlotMap::FromRanges({SlotRange{0, kClusterSlots, Node("a", 1), {}}}),
              StatusCodeIs(absl::StatusCode::kInternal));
}

TEST(SlotMapTest, MoveHandsOneSlotToANewOrKnownMaster) {
  ASSERT_OK_AND_ASSIGN(SlotMap map,
                       SlotMap::FromRanges({SlotRange{0, kClusterSlots - 1, Node("a", 1), {}}}));
  EXPECT_TRUE(map.Move(5, Node("b", 2)));
  EXPECT_EQ(map.MasterOf(5), 1);
  EXPECT_EQ(map.MasterOf(4), 0);
  EXPECT_TRUE(map.Move(6, Node("b", 2)));
  EXPECT_EQ(map.MasterOf(6), 1);
  EXPECT_EQ(map.masters().size(), 2u);
  EXPECT_TRUE(map.Move(5, Node("a", 1)));
  EXPECT_EQ(map.MasterOf(5), 0);
}

}  // namespace
}  // namespace larder::storage::internal

// How a burst's reads go out together (server/storage/redis/redis_burst_reads.h): the plain GETs
// to one slot share one MGET, every other read keeps its own commands, and each read gets back
// exactly its own replies; on replies built by hiredis's own RESP reader, without a Redis server.
#include "server/storage/redis/redis_burst_reads.h"

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/read_resp.h"

namespace larder::storage::internal {
namespace {

using ::testing::ElementsAre;

BurstRead Get(absl::string_view key, int mget_slot) { return {{{"GET", key}}, nullptr, mget_slot}; }

std::vector<std::string> Joined(const RedisCommands& commands) {
  std::vector<std::string> joined;
  for (const auto& command : commands) joined.push_back(absl::StrJoin(command, " "));
  return joined;
}

// What a reply holds, shortly: "nil", "bulk:<text>", "error:<text>", "array:<n>".
std::string Shown(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STRING:
      return absl::StrCat("bulk:", absl::string_view(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return absl::StrCat("error:", absl::string_view(reply.str, reply.len));
    case REDIS_REPLY_ARRAY:
      return absl::StrCat("array:", reply.elements);
    default:
      return "other";
  }
}

std::vector<std::string> Shown(const std::optional<std::vector<RedisReply>>& replies) {
  if (!replies.has_value()) return {"<refused>"};
  std::vector<std::string> shown;
  for (const RedisReply& reply : *replies) shown.push_back(Shown(*reply));
  return shown;
}

TEST(RedisBurstReadsTest, PlainGetsOfOneSlotShareOneMgetInTheOrderAsked) {
  std::vector<BurstRead> batch;
  batch.push_back(Get("e:a", 7));
  batch.push_back(Get("e:b", 9));
  batch.push_back(Get("e:c", 7));
  batch.push_back(Get("e:d", 7));
  std::vector<BurstPlace> places;
  const RedisCommands commands = MergeBurstGets(batch, places);
  EXPECT_THAT(Joined(commands), ElementsAre("MGET e:a e:c e:d", "GET e:b"));
  std::vector<RedisReply> replies;
  replies.push_back(ReadResp("*3\r\n$1\r\nA\r\n$-1\r\n$1\r\nD\r\n"));
  replies.push_back(ReadResp("$1\r\nB\r\n"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[0], places[0], replies)), ElementsAre("bulk:A"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[1], places[1], replies)), ElementsAre("bulk:B"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[2], places[2], replies)), ElementsAre("nil"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[3], places[3], replies)), ElementsAre("bulk:D"));
}

TEST(RedisBurstReadsTest, OtherReadsKeepTheirOwnCommandsAndGetAllTheirReplies) {
  std::vector<BurstRead> batch;
  batch.push_back({{{"ASKING"}, {"GET", "e:moved"}}, nullptr, -1});  // A redirected Get.
  batch.push_back(Get("e:a", 0));
  batch.push_back({{{"MGET", "e:x", "e:y"}}, nullptr, -1});  // A MultiGet's own.
  batch.push_back(Get("e:b", 0));
  std::vector<BurstPlace> places;
  const RedisCommands commands = MergeBurstGets(batch, places);
  EXPECT_THAT(Joined(commands),
              ElementsAre("ASKING", "GET e:moved", "MGET e:a e:b", "MGET e:x e:y"));
  std::vector<RedisReply> replies;
  replies.push_back(ReadResp("+OK\r\n"));
  replies.push_back(ReadResp("$1\r\nM\r\n"));
  replies.push_back(ReadResp("*2\r\n$1\r\nA\r\n$1\r\nB\r\n"));
  replies.push_back(ReadResp("*2\r\n$1\r\nX\r\n$-1\r\n"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[0], places[0], replies)),
              ElementsAre("other", "bulk:M"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[1], places[1], replies)), ElementsAre("bulk:A"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[2], places[2], replies)), ElementsAre("array:2"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[3], places[3], replies)), ElementsAre("bulk:B"));
}

TEST(RedisBurstReadsTest, ALoneGetOfItsSlotStaysAGet) {
  std::vector<BurstRead> batch;
  batch.push_back(Get("e:a", 1));
  batch.push_back(Get("e:b", 2));
  std::vector<BurstPlace> places;
  EXPECT_THAT(Joined(MergeBurstGets(batch, places)), ElementsAre("GET e:a", "GET e:b"));
  std::vector<RedisReply> replies;
  replies.push_back(ReadResp("-WRONGTYPE Operation against a key holding the wrong kind\r\n"));
  replies.push_back(ReadResp("$-1\r\n"));
  // A GET's own error is its answer (the Get converts a layout 1 entry), not a refusal.
  EXPECT_THAT(Shown(TakeBurstReplies(batch[0], places[0], replies)),
              ElementsAre("error:WRONGTYPE Operation against a key holding the wrong kind"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[1], places[1], replies)), ElementsAre("nil"));
}

TEST(RedisBurstReadsTest, AnMgetRefusedAsAWholeLeavesEachGetToBeAskedAlone) {
  std::vector<BurstRead> batch;
  batch.push_back(Get("e:a", 3));
  batch.push_back(Get("e:b", 3));
  std::vector<BurstPlace> places;
  ASSERT_THAT(Joined(MergeBurstGets(batch, places)), ElementsAre("MGET e:a e:b"));
  std::vector<RedisReply> replies;
  replies.push_back(ReadResp("-TRYAGAIN Multiple keys request during rehashing of slot\r\n"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[0], places[0], replies)), ElementsAre("<refused>"));
  EXPECT_THAT(Shown(TakeBurstReplies(batch[1], places[1], replies)), ElementsAre("<refused>"));
  EXPECT_EQ(Shown(*replies[0]), "error:TRYAGAIN Multiple keys request during rehashing of slot")
      << "the refusal itself stays whole";
}

}  // namespace
}  // namespace larder::storage::internal

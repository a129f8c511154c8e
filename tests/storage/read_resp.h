// ReadResp: the one Redis reply that RESP bytes encode, built by hiredis's own reader, so reply
// decoders can be tested on exactly what Redis would send without a Redis server.
//
//   RedisReply reply = ReadResp("*2\r\n:0\r\n$-1\r\n");
#pragma once

#include <hiredis/hiredis.h>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "server/storage/redis/redis_connection.h"

namespace larder::storage::internal {

// The reply `resp` (RESP2) encodes; a test failure and a nil reply when it is incomplete.
inline RedisReply ReadResp(absl::string_view resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK) << reader->errstr;
  redisReaderFree(reader);
  if (reply == nullptr) {
    ADD_FAILURE() << "incomplete reply: " << resp;
    return ReadResp("$-1\r\n");
  }
  return RedisReply(static_cast<redisReply*>(reply));
}

}  // namespace larder::storage::internal

// RedisPipe (server/storage/redis/redis_pipe.h) against a real redis-server: many threads share
// one connection and each gets its own replies; faults (a frozen server, a killed one, a wrong
// password) cost only the pipe, which comes back by itself. Waits are bounded by deadlines.
#include "server/storage/redis/redis_pipe.h"

#include <hiredis/hiredis.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::RedisServerOptions;
using ::larder::testing::RedisServerProcess;
using ::larder::testing::StatusCodeIs;
using ::testing::HasSubstr;

constexpr absl::Duration kConnectWait = absl::Seconds(10);

RedisEndpoint EndpointOf(const RedisServerProcess& redis) {
  RedisEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = redis.port();
  return endpoint;
}

absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

class RedisPipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions options;
    options.extra_args = {"--enable-debug-command", "yes"};  // For DEBUG SLEEP.
    auto redis = RedisServerProcess::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  std::unique_ptr<RedisServerProcess> redis_;
};

TEST_F(RedisPipeTest, EveryThreadGetsItsOwnRepliesInOrder) {
  RedisPipe pipe(EndpointOf(*redis_), {});
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  constexpr int kThreads = 8, kCalls = 500;
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::string key = absl::StrCat("k", t, ":", i), value = absl::StrCat("v", t * i);
        auto replies = pipe.Call({{"SET", key, value}, {"GET", key}, {"STRLEN", key}}, Soon());
        if (!replies.ok()) {
          ++failed;
          continue;
        }
        const bool right = replies->size() == 3 && (*replies)[0]->type == REDIS_REPLY_STATUS &&
                           StringOf(*(*replies)[1]) == value &&
                           (*replies)[2]->integer == static_cast<long long>(value.size());
        wrong += !right;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(pipe.connections_made(), 1);
}

TEST_F(RedisPipeTest, ErrorRepliesAreRepliesAndBinaryArgumentsArrive) {
  RedisPipe pipe(EndpointOf(*redis_), {});
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  const std::string binary("a\0\r\n$3\r\nb", 9);
  ASSERT_OK_AND_ASSIGN(
      std::vector<RedisReply> replies,
      pipe.Call({{"SET", binary, binary}, {"INCR", binary}, {"GET", binary}}, Soon()));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1]->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(StringOf(*replies[2]), binary);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> none, pipe.Call({}, Soon()));
  EXPECT_TRUE(none.empty());
}

TEST_F(RedisPipeTest, AFrozenServerFailsCallsWithinTheCommandTimeoutAndThePipeComesBack) {
  RedisPipeOptions options;
  options.command_timeout = absl::Milliseconds(300);
  RedisPipe pipe(EndpointOf(*redis_), options);
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  ASSERT_OK(redis_->Pause());
  const absl::Time asked = absl::Now();
  EXPECT_THAT(pipe.Call({{"PING"}}, absl::InfiniteFuture()),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  const absl::Duration waited = absl::Now() - asked;
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(2));
  EXPECT_FALSE(pipe.connected());
  ASSERT_OK(redis_->Resume());
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, pipe.Call({{"PING"}}, Soon()));
  EXPECT_EQ(StringOf(*replies[0]), "PONG");
  EXPECT_EQ(pipe.connections_made(), 2);
}

TEST_F(RedisPipeTest, ACallersOwnDeadlineEndsOnlyItsWait) {
  RedisPipe pipe(EndpointOf(*redis_), {});
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  // DEBUG SLEEP holds the server for 100 ms; the first caller gives up after 10 ms.
  EXPECT_THAT(pipe.Call({{"DEBUG", "SLEEP", "0.1"}}, absl::Now() + absl::Milliseconds(10)),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, pipe.Call({{"ECHO", "after"}}, Soon()));
  EXPECT_EQ(StringOf(*replies[0]), "after");  // Not the late reply to DEBUG SLEEP.
  EXPECT_EQ(pipe.connections_made(), 1);
}

TEST_F(RedisPipeTest, AKilledServerFailsFastUntilItIsBack) {
  RedisPipe pipe(EndpointOf(*redis_), {});
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  redis_->Kill();
  const absl::Time deadline = absl::Now() + kConnectWait;
  while (pipe.connected() && absl::Now() < deadline) {
    (void)pipe.Call({{"PING"}}, Soon());  // The first call after the kill sees the broken link.
  }
  ASSERT_FALSE(pipe.connected());
  const absl::Time asked = absl::Now();
  EXPECT_THAT(pipe.Call({{"PING"}}, Soon()), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - asked, absl::Milliseconds(100));  // No wait while disconnected.
  ASSERT_OK(redis_->Restart());
  ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
  EXPECT_OK(pipe.Call({{"PING"}}, Soon()).status());
}

TEST(RedisPipeAuthTest, AuthenticatesSelectsTheDatabaseAndReportsARefusal) {
  RedisServerOptions options;
  options.extra_args = {"--requirepass", "s3cret/pw"};
  auto redis = RedisServerProcess::Start(options);
  ASSERT_TRUE(redis.ok()) << redis.status();
  RedisEndpoint endpoint = EndpointOf(**redis);
  endpoint.password = "s3cret/pw";
  endpoint.db = 3;
  {
    RedisPipe pipe(endpoint, {});
    ASSERT_TRUE(pipe.WaitUntilConnected(kConnectWait));
    ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies,
                         pipe.Call({{"SET", "k", "v"}, {"CLIENT", "INFO"}}, Soon()));
    EXPECT_THAT(std::string(StringOf(*replies[1])), HasSubstr(" db=3 "));
  }
  endpoint.password = "wrong";
  RedisPipe refused(endpoint, {});
  EXPECT_FALSE(refused.WaitUntilConnected(absl::Milliseconds(500)));
  const absl::StatusOr<std::vector<RedisReply>> call = refused.Call({{"PING"}}, Soon());
  EXPECT_THAT(call, StatusCodeIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(call.status().message()), ::testing::Not(HasSubstr("wrong")));
}

}  // namespace
}  // namespace larder::storage::internal

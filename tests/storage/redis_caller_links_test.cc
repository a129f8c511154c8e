// RedisCallerLinks (server/storage/redis/redis_caller_links.h) against a real redis-server: a
// serving thread's batch comes back in order on its own link; a frozen server holds the thread up
// for one read timeout, then the link backs off (failing at once) and comes back by itself.
#include "server/storage/redis/redis_caller_links.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::RedisServerProcess;
using ::larder::testing::StatusCodeIs;

RedisEndpoint EndpointOf(const RedisServerProcess& redis) {
  RedisEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = redis.port();
  return endpoint;
}

std::string StringOf(const redisReply& reply) { return std::string(reply.str, reply.len); }

class RedisCallerLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  std::unique_ptr<RedisServerProcess> redis_;
};

TEST_F(RedisCallerLinksTest, ABatchComesBackInOrderOnItsThreadsOwnLink) {
  RedisCallerLinks links(EndpointOf(*redis_), {});
  ASSERT_OK(links.Run(0, {{"SET", "a", "1"}, {"SET", "b", "2"}}).status());
  absl::StatusOr<std::vector<RedisReply>> replies =
      links.Run(0, {{"GET", "b"}, {"GET", "missing"}, {"GET", "a"}});
  ASSERT_OK(replies.status());
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ(StringOf(*(*replies)[0]), "2");
  EXPECT_EQ((*replies)[1]->type, REDIS_REPLY_NIL);
  EXPECT_EQ(StringOf(*(*replies)[2]), "1");
  EXPECT_EQ(links.open_links(), 1);
  ASSERT_OK(links.Run(5, {{"GET", "a"}}).status());
  EXPECT_EQ(links.open_links(), 2) << "one link per serving thread";
}

TEST_F(RedisCallerLinksTest, ANonServingThreadIsRefused) {
  RedisCallerLinks links(EndpointOf(*redis_), {});
  EXPECT_THAT(links.Run(-1, {{"PING"}}).status(),
              StatusCodeIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(links.Run(DeferredWork::kMaxThreads, {{"PING"}}).status(),
              StatusCodeIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(links.open_links(), 0);
}

TEST_F(RedisCallerLinksTest, AFrozenServerCostsOneReadTimeoutThenTheLinkBacksOff) {
  RedisCallerLinkOptions options;
  options.read_timeout = absl::Milliseconds(50);
  options.initial_backoff = options.max_backoff = absl::Milliseconds(200);
  RedisCallerLinks links(EndpointOf(*redis_), options);
  ASSERT_OK(links.Run(0, {{"PING"}}).status());
  ASSERT_OK(redis_->Pause());
  const absl::Time start = absl::Now();
  EXPECT_THAT(links.Run(0, {{"PING"}}).status(), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "bounded by the read timeout";
  EXPECT_EQ(links.open_links(), 0) << "a timed-out link is closed";
  ASSERT_OK(redis_->Resume());
  const absl::Time retried = absl::Now();
  EXPECT_THAT(links.Run(0, {{"PING"}}).status(), StatusCodeIs(absl::StatusCode::kUnavailable))
      << "backing off";
  EXPECT_LT(absl::Now() - retried, absl::Milliseconds(50)) << "fails at once while backing off";
  // Back once the backoff (100-200 ms) has passed, without anyone reconnecting it.
  absl::Status status = absl::UnavailableError("not tried");
  for (const absl::Time deadline = absl::Now() + absl::Seconds(10);
       !status.ok() && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(20));
    status = links.Run(0, {{"PING"}}).status();
  }
  EXPECT_OK(status);
  EXPECT_EQ(links.open_links(), 1);
}

TEST_F(RedisCallerLinksTest, AnUnreachableServerFailsWithoutOpeningALink) {
  RedisEndpoint endpoint = EndpointOf(*redis_);
  redis_->Kill();
  RedisCallerLinks links(endpoint, {});
  EXPECT_THAT(links.Run(0, {{"PING"}}).status(), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(links.open_links(), 0);
}

}  // namespace
}  // namespace larder::storage::internal

// Parsing of redis://[user:password@]host:port/db.
#include "server/storage/redis/redis_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedisUrlTest, FullUrlGivesEveryPart) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint,
                       ParseRedisUrl("redis://alice:s3cret@cache.internal:6380/2"));
  EXPECT_EQ(endpoint.host, "cache.internal");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 2);
  EXPECT_EQ(endpoint.user, "alice");
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.Describe(), "cache.internal:6380/2");
}

TEST(RedisUrlTest, PortAndDatabaseDefault) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://localhost"));
  EXPECT_EQ(endpoint.port, 6379);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_EQ(endpoint.password, "");
  ASSERT_OK_AND_ASSIGN(endpoint, ParseRedisUrl("redis://localhost:7000/"));
  EXPECT_EQ(endpoint.port, 7000);
  EXPECT_EQ(endpoint.db, 0);
}

TEST(RedisUrlTest, PasswordAloneAuthenticatesTheDefaultUser) {
  for (const char* url : {"redis://:pw@h:1/0", "redis://pw@h:1/0"}) {
    ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl(url));
    EXPECT_EQ(endpoint.user, "") << url;
    EXPECT_EQ(endpoint.password, "pw") << url;
  }
}

TEST(RedisUrlTest, PercentEscapesAndAtSignsInThePasswordDecode) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://u:p%40ss@w@h:1/0"));
  EXPECT_EQ(endpoint.password, "p@ss@w");
  EXPECT_EQ(endpoint.host, "h");
}

TEST(RedisUrlTest, BracketedIpv6Host) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://[::1]:6390/3"));
  EXPECT_EQ(endpoint.host, "::1");
  EXPECT_EQ(endpoint.port, 6390);
  EXPECT_EQ(endpoint.Describe(), "[::1]:6390/3");
}

TEST(RedisUrlTest, MalformedUrlsSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://h:1/0", "must start with redis://"},
      {"rediss://h:1/0", "TLS"},
      {"redis://:1/0", "missing host"},
      {"redis://h:0/0", "port"},
      {"redis://h:99999/0", "port"},
      {"redis://h:abc/0", "port"},
      {"redis://h:/0", "empty port"},
      {"redis://h:1/x", "database"},
      {"redis://h:1/-1", "database"},
      {"redis://[::1:1/0", "unclosed"},
      {"redis://u:p%zz@h:1/0", "escape"},
      // Found by redis_url_fuzz (regression-bracket-inside-host): accepted, and Describe() then
      // gave "[:6[]1:]:379/3", which is no URL of the same endpoint.
      {"redis://:6[]1::379/3", "inside the host"},
      {"redis://a]b:1/0", "inside the host"},
      {"redis://[a[b]:1/0", "inside the host"},
  };
  for (const auto& [url, message] : cases) {
    EXPECT_THAT(ParseRedisUrl(url), StatusIs(absl::StatusCode::kInvalidArgument,
                                             AllOf(HasSubstr("redis-url"), HasSubstr(message))))
        << url;
  }
}

TEST(RedisUrlTest, ErrorsNeverEchoThePassword) {
  EXPECT_THAT(ParseRedisUrl("redis://u:hunter2@h:badport/0"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("hunter2"))));
}

// Found by redis_url_fuzz (corpus: regression-password-with-slash): the path was split off at the
// first '/', inside a base64 password, and the rest of the password was echoed as the database.
TEST(RedisUrlTest, PasswordsMayHoldSlashesAndAreNeverEchoedAsTheDatabase) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://:ab/cd+ef==@h:6380/2"));
  EXPECT_EQ(endpoint.password, "ab/cd+ef==");
  EXPECT_EQ(endpoint.host, "h");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 2);
  EXPECT_THAT(ParseRedisUrl("redis://:ab/hunter2@h:badport/0"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("hunter2"))));
  EXPECT_THAT(ParseRedisUrl("redis:///hunter2@"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("hunter2"))));
}

}  // namespace
}  // namespace larder::storage::internal

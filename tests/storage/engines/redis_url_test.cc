// Parsing of redis://[user:password@]host:port/db and of its seed-list form,
// redis://[user:password@]host:port,host:port/db.
#include "server/storage/redis/redis_url.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
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

TEST(RedisUrlTest, SeveralHostsAreRefusedWhereOneIsExpected) {
  EXPECT_THAT(ParseRedisUrl("redis://a:1,b:2/0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis-url: several hosts")));
  EXPECT_THAT(ParseRedisUrl("redis://:pw,pw@[::1]:7000,[::1]:7001"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("redis-url: several hosts"), Not(HasSubstr("pw")))));
}

// "host:port/db" of each endpoint, the fields the seed tests compare.
std::vector<std::string> Described(const std::vector<RedisEndpoint>& endpoints) {
  std::vector<std::string> described;
  for (const RedisEndpoint& endpoint : endpoints) described.push_back(endpoint.Describe());
  return described;
}

TEST(RedisSeedsTest, OneHostIsWhatParseRedisUrlGives) {
  constexpr absl::string_view kUrl = "redis://alice:s3cret@cache.internal:6380/2";
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds, ParseRedisSeeds(kUrl));
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl(kUrl));
  ASSERT_EQ(seeds.size(), 1u);
  EXPECT_EQ(seeds[0].host, endpoint.host);
  EXPECT_EQ(seeds[0].port, endpoint.port);
  EXPECT_EQ(seeds[0].db, endpoint.db);
  EXPECT_EQ(seeds[0].user, endpoint.user);
  EXPECT_EQ(seeds[0].password, endpoint.password);
}

TEST(RedisSeedsTest, ThreeHostsWithPorts) {
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds,
                       ParseRedisSeeds("redis://10.0.0.1:7000,10.0.0.2:7001,node-c:7002"));
  EXPECT_THAT(Described(seeds), ElementsAre("10.0.0.1:7000/0", "10.0.0.2:7001/0", "node-c:7002/0"));
}

TEST(RedisSeedsTest, BracketedIpv6Hosts) {
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds,
                       ParseRedisSeeds("redis://[::1]:7000,[::1]:7001,[fe80::2]"));
  EXPECT_THAT(seeds,
              ElementsAre(Field(&RedisEndpoint::host, "::1"), Field(&RedisEndpoint::host, "::1"),
                          Field(&RedisEndpoint::host, "fe80::2")));
  EXPECT_THAT(Described(seeds), ElementsAre("[::1]:7000/0", "[::1]:7001/0", "[fe80::2]:6379/0"));
}

TEST(RedisSeedsTest, EachElementDefaultsItsPort) {
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds, ParseRedisSeeds("redis://a,b:7000,c"));
  EXPECT_THAT(Described(seeds), ElementsAre("a:6379/0", "b:7000/0", "c:6379/0"));
}

TEST(RedisSeedsTest, PasswordWithCommasSlashesAndAtSignsAppliesToEveryHost) {
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds,
                       ParseRedisSeeds("redis://bob:a,b/c@d@h1:7000,h2:7001/0"));
  ASSERT_EQ(seeds.size(), 2u);
  for (const RedisEndpoint& seed : seeds) {
    EXPECT_EQ(seed.user, "bob");
    EXPECT_EQ(seed.password, "a,b/c@d");
  }
  EXPECT_THAT(Described(seeds), ElementsAre("h1:7000/0", "h2:7001/0"));
}

TEST(RedisSeedsTest, DatabaseAppliesToEveryHost) {
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds, ParseRedisSeeds("redis://a:1,b:2/5"));
  EXPECT_THAT(seeds, ElementsAre(Field(&RedisEndpoint::db, 5), Field(&RedisEndpoint::db, 5)));
}

TEST(RedisSeedsTest, AtMostTheLimitOfHosts) {
  std::string hosts = "h0";
  for (int i = 1; i < kMaxRedisSeeds; ++i) absl::StrAppend(&hosts, ",h", i);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisEndpoint> seeds,
                       ParseRedisSeeds(absl::StrCat("redis://", hosts)));
  EXPECT_EQ(seeds.size(), static_cast<size_t>(kMaxRedisSeeds));
  EXPECT_THAT(ParseRedisSeeds(absl::StrCat("redis://:hunter2@", hosts, ",h64:1/0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("redis-url: 65 hosts"), HasSubstr("limit of 64"),
                             Not(HasSubstr("hunter2")))));
}

TEST(RedisSeedsTest, MalformedElementsAreNamedByPosition) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"redis://a,,b/0", "host 2 of 3 is empty"},
      {"redis://a,b,", "host 3 of 3 is empty"},
      {"redis://,a", "host 1 of 2 is empty"},
      {"redis://,", "host 1 of 2 is empty"},
      {"redis://a:1,b:abc,c:3/0", "host 2 of 3: port \"abc\""},
      {"redis://a:1,b:0/0", "host 2 of 2: port"},
      {"redis://a:1,b:/0", "host 2 of 2: empty port"},
      {"redis://a:1,:2/0", "host 2 of 2: missing host"},
      {"redis://[::1]:1,[::1/0", "host 2 of 2: unclosed"},
      {"redis://[a,b]:1/0", "host 1 of 2: unclosed"},
      {"redis://a:1,b]c:1/0", "host 2 of 2: '[' or ']' inside the host"},
      {"redis://", "missing host"},
      {"redis://a,b/x", "database"},
      {"rediss://a,b", "TLS"},
  };
  for (const auto& [url, message] : cases) {
    EXPECT_THAT(ParseRedisSeeds(url), StatusIs(absl::StatusCode::kInvalidArgument,
                                               AllOf(HasSubstr("redis-url: "), HasSubstr(message))))
        << url;
  }
}

TEST(RedisSeedsTest, ErrorsNeverEchoThePassword) {
  for (const char* url :
       {"redis://u:hunter2@a:1,b:badport/0", "redis://:hunter2,x@a,,b/0", "redis://:hun/ter2@a,/0",
        "redis://u:hunter2@a:1,b:2/bad", "redis://u:hunter2%zz@a,b", "redis://:hunter2@[::1,b"}) {
    EXPECT_THAT(ParseRedisSeeds(url),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("redis-url: "), Not(HasSubstr("hunter2")),
                               Not(HasSubstr("ter2")))))
        << url;
  }
}

}  // namespace
}  // namespace larder::storage::internal

// The Redis engine's reply decoders (server/storage/redis/redis_replies.h) on replies built by
// hiredis's own RESP reader from the bytes Redis sends, without a Redis server.
#include "server/storage/redis/redis_replies.h"

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/redis/redis_connection.h"
#include "tests/storage/read_resp.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::internal {
namespace {

using ::larder::testing::StatusCodeIs;
using ::testing::ElementsAre;
using std::string_literals::operator""s;

// GET's reply holding `entry`: a bulk string.
RedisReply BulkReply(const std::string& entry) {
  return ReadResp(absl::StrCat("$", entry.size(), "\r\n", entry, "\r\n"));
}

TEST(RedisRepliesTest, EntryReplyGivesValueEtagAndExpiry) {
  // Layout 2 (redis_scripts.h): '2', expiry, "<grace>;<etag length>;<tags length>;", ETag, tags,
  // value; the value may hold anything, ';' and ':' included.
  const RedisReply reply = BulkReply("21767225600000001250;4;11;\"ab\"3:red4:blu:v\0\r\n;al:\xff"s);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, DecodeEntryReply(*reply));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, std::string("v\0\r\n;al:\xff", 9));
  EXPECT_EQ(entry->etag, "\"ab\"");
  EXPECT_EQ(entry->expires_at, absl::FromUnixMicros(1767225600000001));
}

TEST(RedisRepliesTest, EntryReplyWithTheNeverExpiryNeverExpires) {
  const RedisReply reply = BulkReply("2----------------;4;0;\"ab\"");
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, DecodeEntryReply(*reply));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "");
  EXPECT_EQ(entry->etag, "\"ab\"");
  EXPECT_EQ(entry->expires_at, absl::InfiniteFuture());
}

TEST(RedisRepliesTest, EntryReplyWithLeadingZerosInTheExpiry) {
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry,
                       DecodeEntryReply(*BulkReply("20000000000000012;0;0;v")));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "v");
  EXPECT_EQ(entry->etag, "");
  EXPECT_EQ(entry->expires_at, absl::FromUnixMicros(12));
}

TEST(RedisRepliesTest, NilEntryReplyIsAMiss) {
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, DecodeEntryReply(*ReadResp("$-1\r\n")));
  EXPECT_FALSE(entry.has_value());
}

TEST(RedisRepliesTest, ErrorRepliesBecomeTheirStatus) {
  EXPECT_THAT(DecodeEntryReply(*ReadResp("-LOADING Redis is loading\r\n")),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(DecodeEntryReply(*ReadResp("-WRONGTYPE Operation against a key\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
}

TEST(RedisRepliesTest, WrongTypeIsTheOnlyErrorReadAsALayout1Entry) {
  EXPECT_TRUE(IsWrongType(*ReadResp("-WRONGTYPE Operation against a key\r\n")));
  EXPECT_FALSE(IsWrongType(*ReadResp("-ERR WRONGTYPE\r\n")));
  EXPECT_FALSE(IsWrongType(*ReadResp("$9\r\nWRONGTYPE\r\n")));
}

TEST(RedisRepliesTest, ScanPageGivesMembersAndNextCursor) {
  const RedisReply reply = ReadResp("*2\r\n$2\r\n17\r\n*2\r\n$1\r\na\r\n$3\r\nb\0c\r\n"s);
  std::string cursor = "0";
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> members, DecodeScanPage(*reply, cursor));
  EXPECT_THAT(members, ElementsAre("a", std::string("b\0c", 3)));
  EXPECT_EQ(cursor, "17");
}

TEST(RedisRepliesTest, ScanPageWithoutCursorIsInternal) {
  std::string cursor = "0";
  EXPECT_THAT(DecodeScanPage(*ReadResp("*0\r\n"), cursor),
              StatusCodeIs(absl::StatusCode::kInternal));
}

TEST(RedisRepliesTest, SetReplySaysWhetherStoredWhichEtagAndWhetherToRegister) {
  ASSERT_OK_AND_ASSIGN(SetScriptResult stored,
                       DecodeSetReply(*ReadResp("*3\r\n:1\r\n$4\r\n\"ab\"\r\n:1\r\n")));
  EXPECT_TRUE(stored.result.stored);
  EXPECT_EQ(stored.result.etag, "\"ab\"");
  EXPECT_TRUE(stored.unregistered);
  ASSERT_OK_AND_ASSIGN(SetScriptResult refused,
                       DecodeSetReply(*ReadResp("*3\r\n:0\r\n$0\r\n\r\n:0\r\n")));
  EXPECT_FALSE(refused.result.stored);
  EXPECT_EQ(refused.result.etag, "");
  EXPECT_FALSE(refused.unregistered);
}

// The decoded value of `reply`, or `fallback` after a failed expectation.
template <typename T>
T ValueOr(absl::StatusOr<T> decoded, T fallback) {
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *std::move(decoded) : fallback;
}

TEST(RedisRepliesTest, DeleteReplyIsTrueOnlyForALiveEntry) {
  EXPECT_TRUE(ValueOr(DecodeDeleteReply(*ReadResp(":1\r\n")), false));
  EXPECT_FALSE(ValueOr(DecodeDeleteReply(*ReadResp(":0\r\n")), true));
  EXPECT_FALSE(ValueOr(DecodeDeleteReply(*ReadResp(":-1\r\n")), true));
}

TEST(RedisRepliesTest, TouchReplyIsTheEtagOrNil) {
  using Etag = std::optional<std::string>;
  EXPECT_EQ(ValueOr(DecodeTouchReply(*ReadResp("$4\r\n\"ab\"\r\n")), Etag()), Etag("\"ab\""));
  EXPECT_EQ(ValueOr(DecodeTouchReply(*ReadResp("$-1\r\n")), Etag("x")), Etag());
}

TEST(RedisRepliesTest, CountReplyIsANonNegativeInteger) {
  EXPECT_EQ(ValueOr<int64_t>(DecodeCountReply(*ReadResp(":7\r\n")), -1), 7);
  EXPECT_EQ(ValueOr<int64_t>(DecodeCountReply(*ReadResp(":0\r\n")), -1), 0);
}

TEST(RedisRepliesTest, CountersReplyGivesEntriesBytesAndExpirationsWithNilAsZero) {
  ASSERT_OK_AND_ASSIGN(EngineStats stats,
                       DecodeCountersReply(*ReadResp("*3\r\n$1\r\n3\r\n$3\r\n120\r\n$-1\r\n")));
  EXPECT_EQ(stats.entries, 3);
  EXPECT_EQ(stats.bytes, 120);
  EXPECT_EQ(stats.expirations, 0);
  ASSERT_OK_AND_ASSIGN(EngineStats negative,
                       DecodeCountersReply(*ReadResp("*3\r\n$2\r\n-1\r\n$-1\r\n$1\r\n7\r\n")));
  EXPECT_EQ(negative.entries, -1);  // Kept: the engine clamps the namespace's sum.
  EXPECT_EQ(negative.expirations, 7);
  EXPECT_THAT(DecodeCountersReply(*ReadResp("*3\r\n$3\r\nabc\r\n$-1\r\n$-1\r\n")),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(RedisRepliesTest, RemovalProgressReplyGivesRemovedAndRemaining) {
  ASSERT_OK_AND_ASSIGN(RemovalProgress progress,
                       DecodeRemovalProgressReply(*ReadResp("*2\r\n:3\r\n:120\r\n")));
  EXPECT_EQ(progress.removed, 3);
  EXPECT_EQ(progress.remaining, 120);
}

TEST(RedisRepliesTest, LeaseReplyGivesTheEntryTheTokenOrWaitWithItsStale) {
  ASSERT_OK_AND_ASSIGN(
      LeaseScriptResult hit,
      DecodeLeaseReply(*ReadResp("*4\r\n:1\r\n$1\r\nv\r\n$4\r\n\"ab\"\r\n$0\r\n\r\n")));
  ASSERT_TRUE(hit.result.entry.has_value());
  EXPECT_EQ(hit.result.entry->value, "v");
  EXPECT_EQ(hit.result.entry->expires_at, absl::InfiniteFuture());
  EXPECT_FALSE(hit.result.wait || hit.unregistered || !hit.result.token.empty());
  ASSERT_OK_AND_ASSIGN(LeaseScriptResult granted,
                       DecodeLeaseReply(*ReadResp("*2\r\n:2\r\n$3\r\nabc\r\n")));
  EXPECT_EQ(granted.result.token, "abc");
  EXPECT_FALSE(granted.result.entry.has_value() || granted.result.wait);
  ASSERT_OK_AND_ASSIGN(LeaseScriptResult wait, DecodeLeaseReply(*ReadResp("*1\r\n:3\r\n")));
  EXPECT_TRUE(wait.result.wait);
  EXPECT_FALSE(wait.result.stale.has_value());
  ASSERT_OK_AND_ASSIGN(LeaseScriptResult stale,
                       DecodeLeaseReply(*ReadResp(
                           "*4\r\n:3\r\n$1\r\nv\r\n$4\r\n\"ab\"\r\n$16\r\n1767225600000001\r\n")));
  EXPECT_TRUE(stale.result.wait);
  ASSERT_TRUE(stale.result.stale.has_value());
  EXPECT_EQ(stale.result.stale->etag, "\"ab\"");
  EXPECT_EQ(stale.result.stale->expires_at, absl::FromUnixMicros(1767225600000001));
  ASSERT_OK_AND_ASSIGN(LeaseScriptResult unregistered, DecodeLeaseReply(*ReadResp("*1\r\n:4\r\n")));
  EXPECT_TRUE(unregistered.unregistered);
  EXPECT_FALSE(unregistered.result.wait || !unregistered.result.token.empty());
}

TEST(RedisRepliesTest, LeaseReplyOfAnotherShapeIsInternalAndABadTimeDataLoss) {
  for (const char* resp :
       {"*0\r\n", ":2\r\n", "*1\r\n:2\r\n", "*2\r\n:2\r\n$0\r\n\r\n", "*2\r\n:3\r\n$1\r\nv\r\n",
        "*1\r\n:5\r\n", "*2\r\n:1\r\n$1\r\nv\r\n", "*4\r\n:1\r\n$1\r\nv\r\n:1\r\n$0\r\n\r\n"}) {
    EXPECT_THAT(DecodeLeaseReply(*ReadResp(resp)), StatusCodeIs(absl::StatusCode::kInternal))
        << resp;
  }
  EXPECT_THAT(DecodeLeaseReply(*ReadResp("*4\r\n:3\r\n$1\r\nv\r\n$1\r\ne\r\n$3\r\nabc\r\n")),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(RedisRepliesTest, BucketListReplyGivesBucketsInRangeOnly) {
  ASSERT_OK_AND_ASSIGN(std::vector<int> buckets,
                       DecodeBucketListReply(*ReadResp("*2\r\n$1\r\n0\r\n$3\r\n255\r\n"), 256));
  EXPECT_THAT(buckets, ElementsAre(0, 255));
  for (const char* resp : {"*1\r\n$3\r\n256\r\n", "*1\r\n$2\r\n-1\r\n", "*1\r\n$1\r\nx\r\n"}) {
    EXPECT_THAT(DecodeBucketListReply(*ReadResp(resp), 256),
                StatusCodeIs(absl::StatusCode::kDataLoss))
        << resp;
  }
  EXPECT_THAT(DecodeBucketListReply(*ReadResp("*1\r\n:1\r\n"), 256),
              StatusCodeIs(absl::StatusCode::kInternal));
}

// Found by redis_reply_fuzz: the decoders made values up from replies of the wrong shape, and
// served entries larder cannot have written (corpus: regression-scan-page-read-as-entry,
// regression-expiry-not-a-number, regression-entry-without-etag).
TEST(RedisRepliesTest, EntryReplyOfAnotherShapeIsInternal) {
  for (const char* resp :
       {"*2\r\n$1\r\n0\r\n*0\r\n", "+OK\r\n", ":1\r\n", "*3\r\n$1\r\nv\r\n$-1\r\n$0\r\n\r\n"}) {
    EXPECT_THAT(DecodeEntryReply(*ReadResp(resp)), StatusCodeIs(absl::StatusCode::kInternal))
        << resp;
  }
}

TEST(RedisRepliesTest, EntryLarderCannotHaveWrittenIsDataLoss) {
  for (const std::string entry : {
           "",
           "2",
           "21767225600000001",
           "1----------------;0;0;v",  // Short, layout 1.
           "2---------------- ;0;0;v",
           "2----------------x;0;0;v",
           "2-000000000000001;0;0;v",  // Expiry.
           "2----------------;0;0v",
           "2----------------;;0;v",  // Lengths.
           "2----------------;-1;0;v",
           "2----------------;0;x;v",  //
           "2----------------;0;1234567890123456789;v",
           "2----------------;5;0;abc",  // Beyond the end.
           "2----------------;0;9;1:a",
           "2----------------",
           "2----------------;0",
       }) {
    EXPECT_THAT(DecodeEntryReply(*BulkReply(entry)), StatusCodeIs(absl::StatusCode::kDataLoss))
        << entry;
  }
}

TEST(RedisRepliesTest, MalformedScriptAndScanRepliesAreInternal) {
  std::string cursor = "5";
  EXPECT_THAT(DecodeScanPage(*ReadResp("*2\r\n$1\r\nx\r\n*0\r\n"), cursor),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeScanPage(*ReadResp("*2\r\n$1\r\n0\r\n*1\r\n:1\r\n"), cursor),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_EQ(cursor, "5");
  EXPECT_THAT(DecodeSetReply(*ReadResp("*3\r\n:1\r\n:7\r\n:0\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeSetReply(*ReadResp("*3\r\n:2\r\n$0\r\n\r\n:0\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeSetReply(*ReadResp("*2\r\n:1\r\n$0\r\n\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeDeleteReply(*ReadResp("$1\r\n1\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeTouchReply(*ReadResp(":1\r\n")), StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeCountReply(*ReadResp(":-1\r\n")), StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeCountReply(*ReadResp("$2\r\n12\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
  EXPECT_THAT(DecodeRemovalProgressReply(*ReadResp("*1\r\n:3\r\n")),
              StatusCodeIs(absl::StatusCode::kInternal));
}

// Found by redis_reply_fuzz (regression-error-reply-read-as-value): an error reply in a pipeline
// (Stats' HGET of each namespace's expirations) was read as a count of 0.
TEST(RedisRepliesTest, EveryDecoderReturnsAnErrorReplyAsItsStatus) {
  const RedisReply error = ReadResp("-WRONGTYPE Operation against a key\r\n");
  const absl::Status want = ErrorReplyStatus(*error);
  std::string cursor = "0";
  EXPECT_EQ(DecodeScanPage(*error, cursor).status(), want);
  EXPECT_EQ(DecodeSetReply(*error).status(), want);
  EXPECT_EQ(DecodeDeleteReply(*error).status(), want);
  EXPECT_EQ(DecodeTouchReply(*error).status(), want);
  EXPECT_EQ(DecodeCountReply(*error).status(), want);
  EXPECT_EQ(DecodeCountersReply(*error).status(), want);
  EXPECT_EQ(DecodeRemovalProgressReply(*error).status(), want);
  EXPECT_EQ(DecodeLeaseReply(*error).status(), want);
  EXPECT_EQ(DecodeBucketListReply(*error, 256).status(), want);
}

TEST(RedisRepliesTest, RoleReplyTellsAMasterFromAReplicaOrASentinel) {
  ASSERT_OK_AND_ASSIGN(
      bool master, DecodeRoleReplyIsMaster(*ReadResp("*3\r\n$6\r\nmaster\r\n:3129659\r\n*0\r\n")));
  EXPECT_TRUE(master);
  ASSERT_OK_AND_ASSIGN(bool replica_is_master,
                       DecodeRoleReplyIsMaster(*ReadResp("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n"
                                                         ":9999\r\n$9\r\nconnected\r\n:31\r\n")));
  EXPECT_FALSE(replica_is_master);
  ASSERT_OK_AND_ASSIGN(bool sentinel_is_master,
                       DecodeRoleReplyIsMaster(*ReadResp("*2\r\n$8\r\nsentinel\r\n*0\r\n")));
  EXPECT_FALSE(sentinel_is_master);
  EXPECT_THAT(DecodeRoleReplyIsMaster(*ReadResp("-LOADING Redis is loading\r\n")),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  for (absl::string_view resp : {"*0\r\n", "$6\r\nmaster\r\n", "*1\r\n:1\r\n"}) {
    EXPECT_THAT(DecodeRoleReplyIsMaster(*ReadResp(resp)), StatusCodeIs(absl::StatusCode::kInternal))
        << resp;
  }
}

}  // namespace
}  // namespace larder::storage::internal

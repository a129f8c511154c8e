// The memcached engine's pure parts: the item layout, the lease record's layout, the key mapping,
// the expiration it gives memcached and the --memcached-servers parser.
#include "server/storage/memcached/memcached_item.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/memcached/memcached_pool.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

TEST(MemcachedItemTest, ItemRoundTripsWithEveryField) {
  internal::MemcachedItem item;
  item.full_key = internal::FullKey("ns", std::string("k\0\xff", 3));
  item.etag = StrongEtagFor("value");
  item.expires_at = absl::FromUnixSeconds(1900000000);
  item.namespace_generation = 42;
  item.tags = {{std::string("t\0", 2), 7}, {"red", 9}};
  item.value = std::string("v\0v", 3);
  ASSERT_OK_AND_ASSIGN(internal::MemcachedItem back,
                       internal::DecodeMemcachedItem(internal::EncodeMemcachedItem(item)));
  EXPECT_EQ(back.full_key, item.full_key);
  EXPECT_EQ(back.etag, item.etag);
  EXPECT_EQ(back.expires_at, item.expires_at);
  EXPECT_EQ(back.namespace_generation, 42u);
  EXPECT_EQ(back.tags, item.tags);
  EXPECT_EQ(back.value, item.value);
}

TEST(MemcachedItemTest, NeverExpiringItemRoundTrips) {
  internal::MemcachedItem item;
  ASSERT_OK_AND_ASSIGN(internal::MemcachedItem back,
                       internal::DecodeMemcachedItem(internal::EncodeMemcachedItem(item)));
  EXPECT_EQ(back.expires_at, absl::InfiniteFuture());
}

TEST(MemcachedItemTest, ForeignOrTruncatedBytesAreDataLoss) {
  EXPECT_EQ(internal::DecodeMemcachedItem("hello").status().code(), absl::StatusCode::kDataLoss);
  const std::string bytes = internal::EncodeMemcachedItem({});
  EXPECT_EQ(internal::DecodeMemcachedItem(bytes.substr(0, 10)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(internal::DecodeMemcachedItem(absl::StrCat("LMC\x02", bytes.substr(4))).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(MemcachedItemTest, PlainKeysStayReadableOthersBecomeADigest) {
  EXPECT_EQ(internal::MemcachedEntryKey("p:", "users", "42"), "p:e:users:42");
  for (const std::string& key : {std::string("has space"), std::string("nul\0", 4),
                                 std::string("\xc3\xa9"), std::string(300, 'k')}) {
    const std::string mapped = internal::MemcachedEntryKey("p:", "users", key);
    EXPECT_THAT(mapped, ::testing::StartsWith("p:h:"));
    EXPECT_EQ(mapped.size(), 4u + 32u);
    EXPECT_TRUE(internal::IsPlainMemcachedKey(mapped));
  }
  EXPECT_NE(internal::MemcachedEntryKey("p:", "a", " "),
            internal::MemcachedEntryKey("p:", "b", " "));
}

internal::MemcachedLeaseRecord FullRecord() {
  internal::MemcachedLeaseRecord record;
  record.full_key = internal::FullKey("ns", std::string("k\0\xff", 3));
  record.token = "0123456789abcdef0123456789abcdef";
  record.lease_until = absl::FromUnixMicros(1767225605000001);
  record.generation = (uint64_t{1} << 62) - 1;
  record.committing = true;
  record.stale = internal::MemcachedLeaseRecord::Stale{std::string("v\0v", 3), StrongEtagFor("v"),
                                                       absl::FromUnixSeconds(1767225660), 7,
                                                       absl::FromUnixSeconds(1767225601)};
  return record;
}

void ExpectSameRecord(const internal::MemcachedLeaseRecord& a,
                      const internal::MemcachedLeaseRecord& b) {
  EXPECT_EQ(a.full_key, b.full_key);
  EXPECT_EQ(a.token, b.token);
  EXPECT_EQ(a.lease_until, b.lease_until);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.committing, b.committing);
  ASSERT_EQ(a.stale.has_value(), b.stale.has_value());
  if (!a.stale.has_value()) return;
  EXPECT_EQ(a.stale->value, b.stale->value);
  EXPECT_EQ(a.stale->etag, b.stale->etag);
  EXPECT_EQ(a.stale->expires_at, b.stale->expires_at);
  EXPECT_EQ(a.stale->generation, b.stale->generation);
  EXPECT_EQ(a.stale->removed_at, b.stale->removed_at);
}

TEST(MemcachedLeaseRecordTest, RoundTripsWithEveryField) {
  const internal::MemcachedLeaseRecord record = FullRecord();
  ASSERT_OK_AND_ASSIGN(internal::MemcachedLeaseRecord back,
                       internal::DecodeLeaseRecord(internal::EncodeLeaseRecord(record)));
  ExpectSameRecord(back, record);
}

TEST(MemcachedLeaseRecordTest, EmptyRecordAndInfiniteTimesRoundTrip) {
  internal::MemcachedLeaseRecord record;
  ASSERT_OK_AND_ASSIGN(internal::MemcachedLeaseRecord back,
                       internal::DecodeLeaseRecord(internal::EncodeLeaseRecord(record)));
  ExpectSameRecord(back, record);
  EXPECT_EQ(back.lease_until, absl::InfinitePast());
  record.stale.emplace();  // Never expires, never removed.
  ASSERT_OK_AND_ASSIGN(back, internal::DecodeLeaseRecord(internal::EncodeLeaseRecord(record)));
  ExpectSameRecord(back, record);
  EXPECT_EQ(back.stale->expires_at, absl::InfiniteFuture());
  EXPECT_EQ(back.stale->removed_at, absl::InfiniteFuture());
}

TEST(MemcachedLeaseRecordTest, CorruptRecordsAreDataLoss) {
  const std::string bytes = internal::EncodeLeaseRecord(FullRecord());
  std::vector<std::string> corrupt = {
      "",
      "LML",
      "hello",
      internal::EncodeMemcachedItem({}),                          // An entry, not a record.
      absl::StrCat("LML\x02", bytes.substr(4)),                   // A later version.
      absl::StrCat(bytes.substr(0, 4), "\x04", bytes.substr(5)),  // An unknown flag.
      absl::StrCat(bytes, "x"),                                   // Bytes left over.
  };
  for (size_t size = 0; size < bytes.size(); ++size) corrupt.push_back(bytes.substr(0, size));
  internal::MemcachedLeaseRecord no_token;
  no_token.committing = true;
  corrupt.push_back(internal::EncodeLeaseRecord(no_token));
  for (const std::string& bad : corrupt) {
    EXPECT_EQ(internal::DecodeLeaseRecord(bad).status().code(), absl::StatusCode::kDataLoss)
        << absl::CEscape(bad);
  }
}

TEST(MemcachedLeaseRecordTest, LeaseGenerationsRoundTripAndRefuseOtherText) {
  const internal::LeaseGeneration generation{(uint64_t{1} << 62) - 3,
                                             absl::FromUnixMicros(1767225600123456)};
  std::optional<internal::LeaseGeneration> back =
      internal::ParseLeaseGeneration(internal::EncodeLeaseGeneration(generation));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, generation.id);
  EXPECT_EQ(back->changed_at, generation.changed_at);
  EXPECT_EQ(internal::EncodeLeaseGeneration({5, absl::UnixEpoch()}), "5:0");
  for (const char* bad : {"", "5", "5:", ":5", "a:1", "1:b", "1:2:3", "-1:2"}) {
    EXPECT_FALSE(internal::ParseLeaseGeneration(bad).has_value()) << bad;
  }
}

TEST(MemcachedLeaseRecordTest, KeysMirrorTheEntrysAndNeverMeetOthers) {
  EXPECT_EQ(internal::LeaseRecordKey("p:", "users", "42"), "p:l:users:42");
  EXPECT_EQ(internal::LeaseGenerationKey("p:", "users"), "p:lg:users");
  for (const std::string& key : {std::string("has space"), std::string(300, 'k')}) {
    const std::string record = internal::LeaseRecordKey("p:", "users", key);
    const std::string entry = internal::MemcachedEntryKey("p:", "users", key);
    EXPECT_THAT(record, ::testing::StartsWith("p:lh:"));
    EXPECT_EQ(record.substr(5), entry.substr(4)) << "the entry key's digest";
    EXPECT_TRUE(internal::IsPlainMemcachedKey(record));
  }
}

TEST(MemcachedItemTest, ExpirationIsRelativeUpToThirtyDaysThenAbsolute) {
  const absl::Time now = absl::FromUnixSeconds(1000), real = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(internal::MemcachedExpiration(absl::InfiniteFuture(), now, real), 0);
  EXPECT_EQ(internal::MemcachedExpiration(now + absl::Seconds(10), now, real), 11);
  EXPECT_EQ(internal::MemcachedExpiration(now - absl::Seconds(10), now, real), 1);
  EXPECT_EQ(internal::MemcachedExpiration(now + absl::Hours(24 * 30) - absl::Seconds(1), now, real),
            30 * 24 * 3600);
  EXPECT_EQ(internal::MemcachedExpiration(now + absl::Hours(24 * 31), now, real),
            1700000000 + 31 * 24 * 3600 + 1);
  EXPECT_EQ(internal::MemcachedExpiration(now + absl::Hours(24 * 365 * 200), now, real), 0);
}

TEST(MemcachedServersTest, ParsesHostsPortsAndRefusesBadEntries) {
  ASSERT_OK_AND_ASSIGN(auto servers,
                       internal::ParseMemcachedServers("a:1, b ,[::1]:11212,10.0.0.5:65535"));
  ASSERT_EQ(servers.size(), 4u);
  EXPECT_EQ(servers[1].Name(), "b:11211");
  EXPECT_EQ(servers[2].Name(), "[::1]:11212");
  for (const char* bad : {"", "a:", "a:0", "a:70000", ":1", "a,,b", "[::1"}) {
    EXPECT_EQ(internal::ParseMemcachedServers(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace larder::storage

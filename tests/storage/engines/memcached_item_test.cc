// The memcached engine's pure parts: the item layout, the key mapping, the expiration it gives
// memcached and the --memcached-servers parser.
#include "server/storage/memcached/memcached_item.h"

#include <string>

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

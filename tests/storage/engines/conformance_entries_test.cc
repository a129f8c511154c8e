// Conformance of every storage engine: reading, writing, expiring and deleting single entries.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;

class EngineEntriesTest : public EngineTest {};

TEST_P(EngineEntriesTest, GetOfMissingKeyIsOkAndEmpty) {
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "nobody"));
  EXPECT_FALSE(entry.has_value());
}

TEST_P(EngineEntriesTest, SetThenGetReturnsValueEtagAndExpiry) {
  const absl::Time expires_at = clock().Now() + absl::Minutes(5);
  ASSERT_OK_AND_ASSIGN(SetResult result,
                       engine().Set("users", "42", "alice", OptionsFor("alice", expires_at)));
  EXPECT_TRUE(result.stored);
  EXPECT_EQ(result.etag, StrongEtagFor("alice"));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "42"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "alice");
  EXPECT_EQ(entry->etag, StrongEtagFor("alice"));
  EXPECT_EQ(entry->expires_at, expires_at);
}

TEST_P(EngineEntriesTest, EntryWithoutTtlNeverExpires) {
  Put("users", "42", "alice");
  clock().Advance(absl::Hours(24 * 365));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "42"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->expires_at, absl::InfiniteFuture());
}

TEST_P(EngineEntriesTest, OverwriteReplacesValueEtagAndExpiry) {
  Put("users", "42", "alice", absl::Minutes(1));
  Put("users", "42", "bob");
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "42"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "bob");
  EXPECT_EQ(entry->etag, StrongEtagFor("bob"));
  EXPECT_EQ(entry->expires_at, absl::InfiniteFuture());
}

TEST_P(EngineEntriesTest, EtagIsStoredVerbatim) {
  for (std::string etag : {"W/\"weak\"", "\"not-a-hash\"", ""}) {
    SetOptions options;
    options.etag = etag;
    ASSERT_OK(engine().Set("users", "42", "value", options).status());
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "42"));
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->etag, etag);
  }
}

TEST_P(EngineEntriesTest, DeleteRemovesLiveEntryOnce) {
  Put("users", "42", "alice");
  EXPECT_THAT(engine().Delete("users", "42"), IsOkAndHolds(true));
  EXPECT_THAT(engine().Delete("users", "42"), IsOkAndHolds(false));
  EXPECT_EQ(ValueOf("users", "42"), "<miss>");
}

TEST_P(EngineEntriesTest, TouchMovesExpiryAndReturnsEtag) {
  Put("users", "42", "alice", absl::Minutes(1));
  const absl::Time later = clock().Now() + absl::Hours(1);
  EXPECT_THAT(engine().Touch("users", "42", later), IsOkAndHolds(Optional(StrongEtagFor("alice"))));
  clock().Advance(absl::Minutes(30));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", "42"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->expires_at, later);
}

TEST_P(EngineEntriesTest, TouchCanMakeAnEntryPermanent) {
  Put("users", "42", "alice", absl::Minutes(1));
  ASSERT_OK(engine().Touch("users", "42", absl::InfiniteFuture()).status());
  clock().Advance(absl::Hours(2));
  EXPECT_EQ(ValueOf("users", "42"), "alice");
}

TEST_P(EngineEntriesTest, TouchOfMissingKeyIsEmpty) {
  EXPECT_THAT(engine().Touch("users", "nobody", clock().Now() + absl::Hours(1)),
              IsOkAndHolds(Eq(std::nullopt)));
}

TEST_P(EngineEntriesTest, EntryExpiresWhenTheClockPassesItsExpiry) {
  Put("users", "42", "alice", absl::Seconds(10));
  clock().Advance(absl::Seconds(9));
  EXPECT_EQ(ValueOf("users", "42"), "alice");
  clock().Advance(absl::Seconds(1));  // expires_at <= now: gone.
  EXPECT_EQ(ValueOf("users", "42"), "<miss>");
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine().Stats("users"));
  EXPECT_EQ(stats.expirations, 1);
  EXPECT_EQ(stats.entries, 0);
}

TEST_P(EngineEntriesTest, ExpiredEntryIsNeverReturnedByAnyCall) {
  for (const char* key : {"get", "multi", "touch", "delete", "match", "absent", "all"}) {
    Put("users", key, "old", absl::Seconds(10), {"t"});
  }
  clock().Advance(absl::Seconds(11));
  EXPECT_EQ(ValueOf("users", "get"), "<miss>");
  EXPECT_THAT(engine().MultiGet("users", {"multi"}), IsOkAndHolds(ElementsAre(Eq(std::nullopt))));
  EXPECT_THAT(engine().Touch("users", "touch", clock().Now() + absl::Hours(1)),
              IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(engine().Delete("users", "delete"), IsOkAndHolds(false));
  SetOptions if_match = OptionsFor("new");
  if_match.if_match = "*";
  ASSERT_OK_AND_ASSIGN(SetResult matched, engine().Set("users", "match", "new", if_match));
  EXPECT_FALSE(matched.stored);
  EXPECT_EQ(matched.etag, "");
  SetOptions if_absent = OptionsFor("new");
  if_absent.if_absent = true;
  ASSERT_OK_AND_ASSIGN(SetResult absent, engine().Set("users", "absent", "new", if_absent));
  EXPECT_TRUE(absent.stored);
  EXPECT_THAT(engine().Invalidate("users", {InvalidateTarget::Kind::kTag, "t"}), IsOkAndHolds(0));
  EXPECT_THAT(engine().Invalidate("users", {}),
              IsOkAndHolds(Removed(1)));  // Only "absent" is live.
}

TEST_P(EngineEntriesTest, MultiGetAnswersInKeyOrder) {
  Put("users", "a", "1");
  Put("users", "c", "3");
  ASSERT_OK_AND_ASSIGN(auto entries, engine().MultiGet("users", {"c", "b", "a", "c"}));
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0]->value, "3");
  EXPECT_FALSE(entries[1].has_value());
  EXPECT_EQ(entries[2]->value, "1");
  EXPECT_EQ(entries[3]->value, "3");
  EXPECT_EQ(entries[2]->etag, StrongEtagFor("1"));
}

TEST_P(EngineEntriesTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("k\0:\xff\x01*?[", 9);
  const std::string value("v\0\xff\0end", 7);
  const std::string near_key("k\0:\xff\x02", 5);
  Put("bin", key, value);
  Put("bin", near_key, "other");
  EXPECT_EQ(ValueOf("bin", key), value);
  EXPECT_EQ(ValueOf("bin", near_key), "other");
  EXPECT_EQ(ValueOf("bin", std::string("k\0", 2)), "<miss>");
  EXPECT_THAT(engine().Delete("bin", key), IsOkAndHolds(true));
  EXPECT_EQ(ValueOf("bin", near_key), "other");
}

TEST_P(EngineEntriesTest, LongestKeyAndEmptyValueRoundTrip) {
  const std::string key(4096, '\xfe');
  Put("users", key, "");
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("users", key));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "");
}

TEST_P(EngineEntriesTest, ConcurrentSetsFromSeveralThreadsAllLand) {
  constexpr int kThreads = 4, kKeysPerThread = 100;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([this, t] {
      for (int i = 0; i < kKeysPerThread; ++i) {
        const std::string key = absl::StrCat("t", t, "-", i), value = absl::StrCat("v", i);
        EXPECT_OK(engine().Set("load", key, value, OptionsFor(value)).status());
        EXPECT_OK(engine().Set("load", "shared", key, OptionsFor(key)).status());
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine().Stats("load"));
  EXPECT_EQ(stats.entries, Entries(kThreads * kKeysPerThread + 1));
  EXPECT_EQ(ValueOf("load", "t3-99"), "v99");
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> shared, engine().Get("load", "shared"));
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->etag, StrongEtagFor(shared->value));  // Never a torn write.
}

TEST_P(EngineEntriesTest, HealthIsOk) { EXPECT_OK(engine().CheckHealth()); }

INSTANTIATE_TEST_SUITE_P(Engines, EngineEntriesTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

// Conformance of every storage engine: invalidation (namespace, prefix, pattern, tag) with exact
// counts, tag bookkeeping, namespace isolation and Stats.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

using Kind = InvalidateTarget::Kind;

class EngineInvalidateTest : public EngineTest {
 protected:
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, Kind kind, std::string argument = "") {
    return engine().Invalidate(ns, InvalidateTarget{kind, std::move(argument)});
  }
};

TEST_P(EngineInvalidateTest, AllRemovesEveryEntryOfTheNamespaceAndCountsThem) {
  for (int i = 0; i < 25; ++i) Put("users", absl::StrCat("u", i), "v");
  EXPECT_THAT(Invalidate("users", Kind::kAll), IsOkAndHolds(Removed(25)));
  EXPECT_EQ(ValueOf("users", "u7"), "<miss>");
  EXPECT_THAT(Invalidate("users", Kind::kAll), IsOkAndHolds(0));
}

TEST_P(EngineInvalidateTest, AllDoesNotCountExpiredEntries) {
  Put("users", "live", "v");
  Put("users", "dead", "v", absl::Seconds(1));
  clock().Advance(absl::Seconds(2));
  EXPECT_THAT(Invalidate("users", Kind::kAll), IsOkAndHolds(Removed(1)));
}

TEST_P(EngineInvalidateTest, PrefixRemovesOnlyKeysStartingWithIt) {
  if (!capabilities().invalidate_prefix) {
    Put("ns", "user:1", "v");
    ExpectUnsupported(Invalidate("ns", Kind::kPrefix, "user:").status(), "Invalidate by prefix");
    EXPECT_EQ(ValueOf("ns", "user:1"), "v");
    return;
  }
  for (std::string key : {"user:1", "user:2", "user:", "user", "users:1", "admin:user:1"}) {
    Put("ns", key, "v");
  }
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, "user:"), IsOkAndHolds(Removed(3)));
  EXPECT_EQ(ValueOf("ns", "user"), "v");
  EXPECT_EQ(ValueOf("ns", "users:1"), "v");
  EXPECT_EQ(ValueOf("ns", "admin:user:1"), "v");
  EXPECT_EQ(ValueOf("ns", "user:2"), "<miss>");
}

TEST_P(EngineInvalidateTest, PrefixEndingInHighBytesStaysWithinIt) {
  if (!capabilities().invalidate_prefix) {
    return ExpectUnsupported(Invalidate("ns", Kind::kPrefix, "p\xff").status(),
                             "Invalidate by prefix");
  }
  const std::string prefix("p\xff\xff", 3);
  Put("ns", prefix + "a", "v");
  Put("ns", prefix, "v");
  Put("ns", "q", "v");
  Put("ns", std::string("p\xff\xfe", 3), "v");
  EXPECT_THAT(Invalidate("ns", Kind::kPrefix, prefix), IsOkAndHolds(Removed(2)));
  EXPECT_EQ(ValueOf("ns", "q"), "v");
  EXPECT_EQ(ValueOf("ns", std::string("p\xff\xfe", 3)), "v");
}

TEST_P(EngineInvalidateTest, PatternRemovesGlobMatchesOnly) {
  if (!capabilities().invalidate_pattern) {
    Put("ns", "user:1:profile", "v");
    ExpectUnsupported(Invalidate("ns", Kind::kPattern, "user:*:profile").status(),
                      "Invalidate by pattern");
    EXPECT_EQ(ValueOf("ns", "user:1:profile"), "v");
    return;
  }
  for (std::string key : {"user:1:profile", "user:22:profile", "user:1:settings", "group:1:profile",
                          "user:*:literal", "user:x:literal"}) {
    Put("ns", key, "v");
  }
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, "user:*:profile"), IsOkAndHolds(Removed(2)));
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, "user:\\*:literal"), IsOkAndHolds(Removed(1)));
  EXPECT_EQ(ValueOf("ns", "user:x:literal"), "v");
  EXPECT_THAT(Invalidate("ns", Kind::kPattern, "?roup:1:*"), IsOkAndHolds(Removed(1)));
  EXPECT_EQ(ValueOf("ns", "user:1:settings"), "v");
}

TEST_P(EngineInvalidateTest, TagRemovesEveryEntryCarryingIt) {
  Put("shop", "a", "v", absl::ZeroDuration(), {"red", "big"});
  Put("shop", "b", "v", absl::ZeroDuration(), {"red"});
  Put("shop", "c", "v", absl::Minutes(5), {"big"});
  Put("shop", "d", "v");
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "big"), IsOkAndHolds(Removed(2)));
  EXPECT_EQ(ValueOf("shop", "b"), "v");
  // "a" is already gone.
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "red"), IsOkAndHolds(Removed(1)));
  EXPECT_EQ(ValueOf("shop", "d"), "v");
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "none"), IsOkAndHolds(0));
}

TEST_P(EngineInvalidateTest, TagsAreReplacedOnOverwrite) {
  Put("shop", "a", "v1", absl::ZeroDuration(), {"old"});
  Put("shop", "a", "v2", absl::ZeroDuration(), {"new"});
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "old"), IsOkAndHolds(0));
  EXPECT_EQ(ValueOf("shop", "a"), "v2");
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "new"), IsOkAndHolds(Removed(1)));
}

TEST_P(EngineInvalidateTest, DeletedOrInvalidatedEntriesLeaveTheirTags) {
  Put("shop", "a", "v", absl::ZeroDuration(), {"red"});
  Put("shop", "b", "v", absl::ZeroDuration(), {"red"});
  ASSERT_OK(engine().Delete("shop", "a").status());
  // An engine without prefixes invalidates the whole namespace ("a" is gone already).
  ASSERT_OK(Invalidate("shop", capabilities().invalidate_prefix ? Kind::kPrefix : Kind::kAll, "b")
                .status());
  Put("shop", "a", "v");  // Same key again, untagged.
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "red"), IsOkAndHolds(0));
  EXPECT_EQ(ValueOf("shop", "a"), "v");
}

TEST_P(EngineInvalidateTest, TagOfExpiredEntryCountsNothing) {
  Put("shop", "a", "v", absl::Seconds(1), {"red"});
  clock().Advance(absl::Seconds(1));
  EXPECT_THAT(Invalidate("shop", Kind::kTag, "red"), IsOkAndHolds(0));
}

TEST_P(EngineInvalidateTest, NamespacesAreIsolated) {
  for (std::string ns : {"a", "a.b", "ab", "a-"}) Put(ns, "key", ns, absl::ZeroDuration(), {"t"});
  EXPECT_EQ(ValueOf("a.b", "key"), "a.b");
  EXPECT_THAT(Invalidate("a", Kind::kAll), IsOkAndHolds(Removed(1)));
  EXPECT_EQ(ValueOf("a", "key"), "<miss>");
  EXPECT_EQ(ValueOf("a.b", "key"), "a.b");
  EXPECT_THAT(Invalidate("ab", Kind::kTag, "t"), IsOkAndHolds(Removed(1)));
  if (capabilities().invalidate_prefix) {
    EXPECT_THAT(Invalidate("a.b", Kind::kPrefix, "k"), IsOkAndHolds(Removed(1)));
    EXPECT_THAT(Invalidate("a-", Kind::kPattern, "*"), IsOkAndHolds(Removed(1)));
  } else {
    EXPECT_THAT(Invalidate("a.b", Kind::kAll), IsOkAndHolds(Removed(1)));
    EXPECT_EQ(ValueOf("a-", "key"), "a-");
  }
}

TEST_P(EngineInvalidateTest, StatsCountEntriesAndBytesPerNamespace) {
  if (!capabilities().namespace_stats) {
    // Declared: a namespace's entries and bytes are not counted (0), the store's are.
    Put("one", "k1", "12345");
    ASSERT_OK_AND_ASSIGN(EngineStats one, engine().Stats("one"));
    EXPECT_EQ(one.entries, 0);
    EXPECT_EQ(one.bytes, 0);
    ASSERT_OK_AND_ASSIGN(EngineStats all, engine().Stats(""));
    EXPECT_GE(all.entries, 1);
    EXPECT_GE(all.bytes, 7);
    return;
  }
  Put("one", "k1", "12345");  // 2 + 5 bytes
  Put("one", "key2", "");     // 4 + 0
  Put("two", "k", "xyz");     // 1 + 3
  Put("two", "gone", "v", absl::Seconds(1));
  clock().Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(EngineStats one, engine().Stats("one"));
  EXPECT_EQ(one.entries, 2);
  EXPECT_EQ(one.bytes, 11);
  EXPECT_EQ(one.evictions, 0);
  ASSERT_OK_AND_ASSIGN(EngineStats two, engine().Stats("two"));
  EXPECT_LE(two.entries, 2);  // May still count "gone" until it is reclaimed.
  EXPECT_EQ(ValueOf("two", "gone"), "<miss>");
  ASSERT_OK_AND_ASSIGN(two, engine().Stats("two"));
  EXPECT_EQ(two.entries, 1);
  EXPECT_EQ(two.bytes, 4);
  EXPECT_EQ(two.expirations, 1);
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine().Stats(""));
  EXPECT_EQ(all.entries, 3);
  EXPECT_EQ(all.bytes, 15);
  EXPECT_EQ(all.expirations, 1);
}

TEST_P(EngineInvalidateTest, StatsOfUnknownNamespaceAreZero) {
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine().Stats("nobody"));
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineInvalidateTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

// Conformance of every storage engine: conditional sets (if_absent, If-Match compare-and-set).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

class EngineConditionalTest : public EngineTest {
 protected:
  SetResult SetIfMatch(absl::string_view key, absl::string_view value, std::string if_match) {
    SetOptions options = OptionsFor(value);
    options.if_match = std::move(if_match);
    absl::StatusOr<SetResult> result = engine().Set("docs", key, value, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(SetResult{});
  }
  SetResult SetIfAbsent(absl::string_view key, absl::string_view value) {
    SetOptions options = OptionsFor(value);
    options.if_absent = true;
    absl::StatusOr<SetResult> result = engine().Set("docs", key, value, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(SetResult{});
  }
};

TEST_P(EngineConditionalTest, IfAbsentStoresOnlyWhenNoLiveEntry) {
  SetResult first = SetIfAbsent("k", "one");
  EXPECT_TRUE(first.stored);
  EXPECT_EQ(first.etag, StrongEtagFor("one"));
  SetResult second = SetIfAbsent("k", "two");
  EXPECT_FALSE(second.stored);
  EXPECT_EQ(second.etag, StrongEtagFor("one"));  // The current entry's ETag.
  EXPECT_EQ(ValueOf("docs", "k"), "one");
}

TEST_P(EngineConditionalTest, IfAbsentStoresOverAnExpiredEntry) {
  Put("docs", "k", "old", absl::Seconds(5));
  clock().Advance(absl::Seconds(5));
  EXPECT_TRUE(SetIfAbsent("k", "new").stored);
  EXPECT_EQ(ValueOf("docs", "k"), "new");
}

TEST_P(EngineConditionalTest, IfMatchWithCurrentEtagStores) {
  Put("docs", "k", "v1");
  SetResult result = SetIfMatch("k", "v2", StrongEtagFor("v1"));
  EXPECT_TRUE(result.stored);
  EXPECT_EQ(result.etag, StrongEtagFor("v2"));
  EXPECT_EQ(ValueOf("docs", "k"), "v2");
}

TEST_P(EngineConditionalTest, IfMatchWithStaleEtagIsRefusedWithCurrentEtag) {
  Put("docs", "k", "v1");
  SetResult result = SetIfMatch("k", "v2", StrongEtagFor("v0"));
  EXPECT_FALSE(result.stored);
  EXPECT_EQ(result.etag, StrongEtagFor("v1"));
  EXPECT_EQ(ValueOf("docs", "k"), "v1");
}

TEST_P(EngineConditionalTest, IfMatchListMatchesAnyMember) {
  Put("docs", "k", "v1");
  const std::string list =
      absl::StrCat("\"nope\", W/", StrongEtagFor("v1"), " , ", StrongEtagFor("v1"));
  EXPECT_TRUE(SetIfMatch("k", "v2", list).stored);
  EXPECT_EQ(ValueOf("docs", "k"), "v2");
}

TEST_P(EngineConditionalTest, IfMatchNeverMatchesWeakly) {
  Put("docs", "k", "v1");
  EXPECT_FALSE(SetIfMatch("k", "v2", absl::StrCat("W/", StrongEtagFor("v1"))).stored);
}

TEST_P(EngineConditionalTest, IfMatchStarNeedsALiveEntry) {
  SetResult missing = SetIfMatch("k", "v1", "*");
  EXPECT_FALSE(missing.stored);
  EXPECT_EQ(missing.etag, "");
  EXPECT_EQ(ValueOf("docs", "k"), "<miss>");
  Put("docs", "k", "v1");
  EXPECT_TRUE(SetIfMatch("k", "v2", "*").stored);
  EXPECT_EQ(ValueOf("docs", "k"), "v2");
}

TEST_P(EngineConditionalTest, IfMatchOnMissingKeyIsRefusedWithEmptyEtag) {
  SetResult result = SetIfMatch("k", "v1", StrongEtagFor("v0"));
  EXPECT_FALSE(result.stored);
  EXPECT_EQ(result.etag, "");
}

TEST_P(EngineConditionalTest, RefusedSetKeepsTheEntryTags) {
  Put("docs", "k", "v1", absl::ZeroDuration(), {"red"});
  EXPECT_FALSE(SetIfAbsent("k", "v2").stored);
  EXPECT_THAT(engine().Invalidate("docs", {InvalidateTarget::Kind::kTag, "red"}),
              IsOkAndHolds(Removed(1)));
}

TEST_P(EngineConditionalTest, ConcurrentIfAbsentStoresExactlyOnce) {
  constexpr int kThreads = 4, kRounds = 25;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = absl::StrCat("race-", round);
    std::atomic<int> stored{0};
    std::vector<std::thread> racers;
    for (int t = 0; t < kThreads; ++t) {
      racers.emplace_back([&, t] {
        if (SetIfAbsent(key, absl::StrCat("writer-", t)).stored) ++stored;
      });
    }
    for (std::thread& racer : racers) racer.join();
    EXPECT_EQ(stored.load(), 1) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineConditionalTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

// Conformance of every storage engine: MultiSet stores its items in order as Set would, one
// result per item, with conditions and tags evaluated against the earlier items of the batch.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

using ::testing::ElementsAre;
using Kind = InvalidateTarget::Kind;

class EngineBatchTest : public EngineTest {
 protected:
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, std::string tag) {
    return engine().Invalidate(ns, InvalidateTarget{Kind::kTag, std::move(tag)});
  }
};

TEST_P(EngineBatchTest, ReturnsOneResultPerItemInOrder) {
  Put("ns", "taken", "old");
  std::vector<SetItem> items = {ItemFor("a", "1"), ItemFor("taken", "new"), ItemFor("b", "2")};
  items[1].options.if_absent = true;
  ASSERT_OK_AND_ASSIGN(std::vector<SetResult> results, engine().MultiSet("ns", items));
  EXPECT_THAT(results, ElementsAre(SetResultIs(true, StrongEtagFor("1")),
                                   SetResultIs(false, StrongEtagFor("old")),
                                   SetResultIs(true, StrongEtagFor("2"))));
  EXPECT_THAT(ValuesOf("ns", {"a", "taken", "b"}), ElementsAre("1", "old", "2"));
}

TEST_P(EngineBatchTest, StoresExpiryAsSetWould) {
  std::vector<SetItem> items = {ItemFor("short", "s"), ItemFor("long", "l")};
  items[0].options.expires_at = clock().Now() + absl::Seconds(10);
  ASSERT_OK(engine().MultiSet("ns", items).status());
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, engine().Get("ns", "short"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->expires_at, clock().Now() + absl::Seconds(10));
  clock().Advance(absl::Seconds(10));
  EXPECT_THAT(ValuesOf("ns", {"short", "long"}), ElementsAre("<miss>", "l"));
}

TEST_P(EngineBatchTest, LaterItemOfTheSameKeySeesTheEarlierOne) {
  std::vector<SetItem> items = {ItemFor("k", "v1"), ItemFor("k", "v2"), ItemFor("k", "v3"),
                                ItemFor("k", "v4")};
  items[1].options.if_match = StrongEtagFor("v1");  // Holds: item 0 stored v1.
  items[2].options.if_absent = true;                // Fails: item 1 stored v2.
  items[3].options.if_match = StrongEtagFor("v1");  // Fails: v1 was replaced.
  ASSERT_OK_AND_ASSIGN(std::vector<SetResult> results, engine().MultiSet("ns", items));
  EXPECT_THAT(results, ElementsAre(SetResultIs(true, StrongEtagFor("v1")),
                                   SetResultIs(true, StrongEtagFor("v2")),
                                   SetResultIs(false, StrongEtagFor("v2")),
                                   SetResultIs(false, StrongEtagFor("v2"))));
  EXPECT_EQ(ValueOf("ns", "k"), "v2");
}

TEST_P(EngineBatchTest, IfAbsentAndIfMatchHoldAsForSet) {
  Put("ns", "live", "old");
  Put("ns", "dead", "gone", absl::Seconds(1));
  Put("ns", "dead2", "gone", absl::Seconds(1));
  clock().Advance(absl::Seconds(1));
  std::vector<SetItem> items = {ItemFor("live", "a"),    ItemFor("live", "b"),
                                ItemFor("missing", "c"), ItemFor("fresh", "d"),
                                ItemFor("dead", "e"),    ItemFor("dead2", "f")};
  items[0].options.if_match = StrongEtagFor("wrong");
  items[1].options.if_match = StrongEtagFor("old");
  items[2].options.if_match = StrongEtagFor("c");
  items[3].options.if_absent = true;
  items[4].options.if_absent = true;                  // An expired entry is absent.
  items[5].options.if_match = StrongEtagFor("gone");  // And matches nothing.
  ASSERT_OK_AND_ASSIGN(std::vector<SetResult> results, engine().MultiSet("ns", items));
  EXPECT_THAT(results, ElementsAre(SetResultIs(false, StrongEtagFor("old")),
                                   SetResultIs(true, StrongEtagFor("b")), SetResultIs(false, ""),
                                   SetResultIs(true, StrongEtagFor("d")),
                                   SetResultIs(true, StrongEtagFor("e")), SetResultIs(false, "")));
  EXPECT_THAT(ValuesOf("ns", {"live", "missing", "fresh", "dead", "dead2"}),
              ElementsAre("b", "<miss>", "d", "e", "<miss>"));
}

TEST_P(EngineBatchTest, TagsOfBatchItemsSelectThemForInvalidation) {
  Put("shop", "old", "v", absl::ZeroDuration(), {"red"});
  std::vector<SetItem> items = {ItemFor("a", "1", {"red"}), ItemFor("b", "2", {"red", "big"}),
                                ItemFor("c", "3", {"big"}), ItemFor("a", "4", {"blue"}),
                                ItemFor("old", "5", {"blue"})};
  ASSERT_OK(engine().MultiSet("shop", items).status());
  EXPECT_THAT(InvalidateTag("shop", "red"),
              IsOkAndHolds(Removed(1)));  // Only "b": "a" was retagged.
  EXPECT_THAT(ValuesOf("shop", {"a", "b", "c", "old"}), ElementsAre("4", "<miss>", "3", "5"));
  EXPECT_THAT(InvalidateTag("shop", "blue"), IsOkAndHolds(Removed(2)));
  EXPECT_THAT(InvalidateTag("shop", "big"), IsOkAndHolds(Removed(1)));
  EXPECT_THAT(ValuesOf("shop", {"a", "c", "old"}), ElementsAre("<miss>", "<miss>", "<miss>"));
}

TEST_P(EngineBatchTest, BatchItemsAreInvalidatedLikeAnyEntry) {
  std::vector<SetItem> items = {ItemFor("user:1", "1"), ItemFor("user:2", "2"),
                                ItemFor("group:1", "3")};
  ASSERT_OK(engine().MultiSet("ns", items).status());
  if (!capabilities().invalidate_prefix) {
    EXPECT_THAT(engine().Invalidate("ns", {Kind::kAll, ""}), IsOkAndHolds(Removed(3)));
    EXPECT_THAT(ValuesOf("ns", {"user:1", "group:1"}), ElementsAre("<miss>", "<miss>"));
    return;
  }
  EXPECT_THAT(engine().Invalidate("ns", {Kind::kPrefix, "user:"}), IsOkAndHolds(2));
  EXPECT_THAT(engine().Invalidate("ns", {Kind::kPattern, "*:1"}), IsOkAndHolds(1));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineBatchTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing

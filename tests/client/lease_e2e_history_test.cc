// FindStaleReads, the checker of the stale-set end-to-end test (lease_e2e_stale_set_test.cc):
// it must flag exactly the reads of a superseded value that began after the invalidation ended.
#include "tests/client/lease_e2e_history.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::testing {
namespace {

const absl::Time kT0 = absl::FromUnixMillis(1'767'225'600'000);

absl::Time At(int ms) { return kT0 + absl::Milliseconds(ms); }

TEST(FindStaleReadsTest, FlagsTheOldValueReadAfterTheInvalidationEnded) {
  const std::vector<HistoryEvent> history = {
      HistoryEvent::Invalidation("k1", At(0), At(10), "v1"),
      HistoryEvent::Get("k1", At(20), At(21), "v1"),
  };
  const std::vector<StaleRead> stale = FindStaleReads(history);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].key, "k1");
  EXPECT_EQ(stale[0].value, "v1");
  EXPECT_EQ(stale[0].after_invalidation, absl::Milliseconds(10));
}

TEST(FindStaleReadsTest, AcceptsReadsThatOverlapOrPrecedeTheInvalidation) {
  const std::vector<HistoryEvent> history = {
      HistoryEvent::Get("k1", At(0), At(1), "v1"),
      HistoryEvent::Invalidation("k1", At(5), At(10), "v1"),
      HistoryEvent::Get("k1", At(8), At(12), "v1"),  // Began before the invalidation ended.
  };
  EXPECT_THAT(FindStaleReads(history), ::testing::IsEmpty());
}

TEST(FindStaleReadsTest, AcceptsMissesNewValuesAndOtherKeys) {
  const std::vector<HistoryEvent> history = {
      HistoryEvent::Invalidation("k1", At(0), At(10), "v1"),
      HistoryEvent::Get("k1", At(20), At(21), std::nullopt),
      HistoryEvent::Get("k1", At(30), At(31), "v2"),
      HistoryEvent::Get("k2", At(40), At(41), "v1"),
  };
  EXPECT_THAT(FindStaleReads(history), ::testing::IsEmpty());
}

}  // namespace
}  // namespace larder::testing

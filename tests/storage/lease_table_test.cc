// LeaseTable: its bounds — records per stripe, bytes of stale copies, tracked namespaces — and
// that a full table answers "no lease" rather than growing.
#include "server/storage/lease_table.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace larder::storage {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1000);

LeaseOptions SmallTable(int64_t max_leases, int64_t stale_bytes) {
  LeaseOptions options;
  options.max_leases = max_leases;
  options.stale_bytes = stale_bytes;
  return options;
}

// Grants a lease on ns/key; its token, or empty when the table was full.
std::string GrantOn(LeaseTable& table, const std::string& key) {
  LeaseTable::Locked locked = table.Lock("ns", key);
  return locked.Grant(kNow + absl::Seconds(5), table.GenerationOf("ns"), kNow);
}

TEST(LeaseTableTest, FullTableGrantsNothingUntilLeasesExpire) {
  LeaseTable table(SmallTable(LeaseTable::kStripes, 1 << 20));  // One record per stripe.
  int granted = 0;
  for (int i = 0; i < 10 * LeaseTable::kStripes; ++i) {
    if (!GrantOn(table, absl::StrCat("k", i)).empty()) ++granted;
  }
  EXPECT_LE(granted, LeaseTable::kStripes);
  EXPECT_LE(table.RecordCount(), LeaseTable::kStripes);
  // Once they expired, their records make room.
  LeaseTable::Locked locked = table.Lock("ns", "late");
  EXPECT_FALSE(locked.Grant(kNow + absl::Minutes(1), 0, kNow + absl::Seconds(6)).empty());
}

TEST(LeaseTableTest, StaleCopiesStayWithinTheirBudgetOldestDroppedFirst) {
  const int64_t per_stripe = 1000;
  LeaseTable table(SmallTable(100000, per_stripe * LeaseTable::kStripes));
  const std::string value(400, 'v');
  for (int i = 0; i < 200; ++i) {
    const std::string key = absl::StrCat("k", i);
    ASSERT_FALSE(GrantOn(table, key).empty());
    LeaseTable::Locked locked = table.Lock("ns", key);
    locked.Fill(value, StoredEntry{"", "\"etag\"", kNow + absl::Minutes(1)}, 0);
  }
  EXPECT_LE(table.StaleBytes(), per_stripe * LeaseTable::kStripes);
  EXPECT_GT(table.StaleBytes(), 0);
  // The last key filled keeps its copy.
  LeaseTable::Locked last = table.Lock("ns", "k199");
  ASSERT_NE(last.Find(), nullptr);
  EXPECT_TRUE(last.Find()->stale.has_value());
}

TEST(LeaseTableTest, InvalidatingAnyNamespaceGivesItANewGenerationOnly) {
  LeaseTable table(LeaseOptions{});
  const uint64_t before = table.GenerationOf("ns");
  table.NewGeneration("ns", kNow);
  EXPECT_NE(table.GenerationOf("ns"), before);
  EXPECT_EQ(table.GenerationOf("other"), before);
  EXPECT_EQ(table.InvalidatedAt("ns"), kNow);
}

TEST(LeaseTableTest, TooManyNamespacesMovesEveryNamespaceOn) {
  LeaseTable table(LeaseOptions{});
  const uint64_t untouched = table.GenerationOf("untouched");
  for (size_t i = 0; i <= LeaseTable::kMaxTrackedNamespaces; ++i) {
    table.NewGeneration(absl::StrCat("ns", i), kNow);
  }
  EXPECT_NE(table.GenerationOf("untouched"), untouched) << "its leases are voided too";
}

}  // namespace
}  // namespace larder::storage

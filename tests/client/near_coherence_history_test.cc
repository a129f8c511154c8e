// The coherence checker of the near-cache end-to-end tests (near_coherence_history.h) on
// hand-made histories: it must flag exactly the reads of a value made old more than δ before
// they started (by a newer write, a Delete, an Invalidate by prefix or tag), corrupt values and
// versions never sent, and nothing else (time the reading process was stalled is taken off);
// and the history lines must survive a round trip.
#include "tests/client/near_coherence_history.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Kind = CoherenceChange::Kind;
using Result = CoherenceRead::Result;

constexpr absl::Duration kDelta = absl::Milliseconds(100);

// Nanoseconds `ms` milliseconds after an arbitrary monotonic origin.
int64_t Ms(int64_t ms) { return 1'000'000'000'000 + ms * 1'000'000; }

CoherenceRead ValueAt(const std::string& key, int64_t start_ms, int64_t version) {
  return CoherenceRead::Value(key, Ms(start_ms), Ms(start_ms) + 1000, version, /*near=*/true);
}

TEST(CheckCoherenceTest, FlagsAnOldVersionReadMoreThanDeltaAfterTheNewerWriteWasAcknowledged) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(11))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 112, 1)}, kDelta);
  ASSERT_THAT(report.violations, SizeIs(1));
  EXPECT_EQ(report.violations[0].read.version, 1);
  EXPECT_EQ(report.violations[0].lag_ns, Ms(112) - Ms(11));
  EXPECT_THAT(report.lags_ns, ElementsAre(Ms(112) - Ms(11)));
}

TEST(CheckCoherenceTest, CountsTheLagButAcceptsAnOldVersionReadWithinDelta) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(11))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 110, 1)}, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
  EXPECT_THAT(report.lags_ns, ElementsAre(Ms(110) - Ms(11)));
}

TEST(CheckCoherenceTest, AcceptsReadsThatStartedBeforeTheNewerWriteWasAcknowledged) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(500))};
  const CoherenceReport report = CheckCoherence(
      changes, {ValueAt("k", 5, 1), ValueAt("k", 499, 1), ValueAt("k", 900, 2)}, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
  EXPECT_THAT(report.lags_ns, IsEmpty());
  EXPECT_EQ(report.values, 3);
}

TEST(CheckCoherenceTest, MeasuresTheLagFromTheFirstChangeThatMadeTheValueOld) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(20)),
                                                CoherenceChange::Write("k", 3, Ms(30), Ms(40))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 200, 1)}, kDelta);
  ASSERT_THAT(report.violations, SizeIs(1));
  EXPECT_EQ(report.violations[0].lag_ns, Ms(200) - Ms(20));
}

TEST(CheckCoherenceTest, FlagsAVersionReadLongAfterARemovalCoveringIt) {
  for (Kind kind : {Kind::kDelete, Kind::kPrefix, Kind::kTag}) {
    SCOPED_TRACE(FormatLine(CoherenceChange::Removal(kind, "k", 1, 0, 0)));
    const std::vector<CoherenceChange> changes = {
        CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
        CoherenceChange::Removal(kind, "k", /*floor=*/1, Ms(10), Ms(12))};
    const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 150, 1)}, kDelta);
    ASSERT_THAT(report.violations, SizeIs(1));
    EXPECT_EQ(report.violations[0].lag_ns, Ms(150) - Ms(12));
  }
}

TEST(CheckCoherenceTest, AcceptsAVersionAboveTheRemovalsFloor) {
  // Version 2 was in flight when the invalidation was sent: it may have landed after it.
  const std::vector<CoherenceChange> changes = {
      CoherenceChange::Write("k", 1, Ms(0), Ms(1)), CoherenceChange::Write("k", 2, Ms(9), Ms(13)),
      CoherenceChange::Removal(Kind::kTag, "k", /*floor=*/1, Ms(10), Ms(12))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 500, 2)}, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
}

TEST(CheckCoherenceTest, ChangesOfOtherKeysDoNotMakeAValueOld) {
  const std::vector<CoherenceChange> changes = {
      CoherenceChange::Write("k1", 1, Ms(0), Ms(1)), CoherenceChange::Write("k2", 1, Ms(0), Ms(1)),
      CoherenceChange::Write("k2", 2, Ms(5), Ms(6)),
      CoherenceChange::Removal(Kind::kDelete, "k2", 2, Ms(7), Ms(8))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k1", 900, 1)}, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
}

TEST(CheckCoherenceTest, MissesAndErrorsAreNeverViolations) {
  const std::vector<CoherenceChange> changes = {
      CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
      CoherenceChange::Removal(Kind::kDelete, "k", 1, Ms(2), Ms(3))};
  const std::vector<CoherenceRead> reads = {
      CoherenceRead::Other(Result::kMiss, "k", Ms(500), Ms(501), false),
      CoherenceRead::Other(Result::kError, "k", Ms(600), Ms(601), false)};
  const CoherenceReport report = CheckCoherence(changes, reads, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
  EXPECT_EQ(report.misses, 1);
  EXPECT_EQ(report.errors, 1);
  EXPECT_EQ(report.reads, 2);
}

TEST(CheckCoherenceTest, FlagsCorruptValuesAndVersionsNeverSent) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1))};
  const std::vector<CoherenceRead> reads = {
      CoherenceRead::Other(Result::kCorrupt, "k", Ms(5), Ms(6), true), ValueAt("k", 5, 7),
      ValueAt("never-written", 5, 1)};
  const CoherenceReport report = CheckCoherence(changes, reads, kDelta);
  ASSERT_THAT(report.violations, SizeIs(3));
  EXPECT_THAT(report.violations[1].why, ::testing::HasSubstr("never sent"));
}

TEST(CheckCoherenceTest, DoesNotAgeValuesOfFailedWrites) {
  // Version 2 failed: a retried attempt may land after version 3, so reading it late is no proof
  // of a stale near cache. It is counted apart.
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::FailedWrite("k", 2, Ms(2)),
                                                CoherenceChange::Write("k", 3, Ms(60), Ms(61))};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 900, 2)}, kDelta);
  EXPECT_THAT(report.violations, IsEmpty());
  EXPECT_EQ(report.unacknowledged_values, 1);
}

TEST(CheckCoherenceTest, TakesOffTheTimeTheReadingProcessWasStalled) {
  // 149 ms after version 2 was acknowledged, 80 of them stalled: 69 ms of running time.
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(11))};
  const std::vector<Stall> stalls = {{Ms(20), Ms(100)}, {Ms(200), Ms(900)}};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 160, 1)}, kDelta, stalls);
  EXPECT_THAT(report.violations, IsEmpty());
  EXPECT_EQ(report.excused_by_stalls, 1);
  EXPECT_THAT(report.lags_ns, ElementsAre(Ms(160) - Ms(11)));
}

TEST(CheckCoherenceTest, StillFlagsAnOldValueWhenStallsCoverTooLittle) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(11))};
  // Stalls before the acknowledgement or after the read's start do not count.
  const std::vector<Stall> stalls = {{Ms(0), Ms(11)}, {Ms(20), Ms(40)}, {Ms(160), Ms(900)}};
  const CoherenceReport report = CheckCoherence(changes, {ValueAt("k", 160, 1)}, kDelta, stalls);
  ASSERT_THAT(report.violations, SizeIs(1));
  EXPECT_EQ(report.violations[0].stalled_ns, Ms(40) - Ms(20));
  EXPECT_EQ(report.excused_by_stalls, 0);
}

TEST(CheckCoherenceTest, ReportsAddUp) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(10), Ms(11))};
  CoherenceReport total = CheckCoherence(changes, {ValueAt("k", 500, 1)}, kDelta);
  const CoherenceRead miss = CoherenceRead::Other(Result::kMiss, "k", Ms(30), Ms(31), false);
  total.Add(CheckCoherence(changes, {ValueAt("k", 20, 2), miss}, kDelta));
  EXPECT_EQ(total.reads, 3);
  EXPECT_EQ(total.values, 2);
  EXPECT_EQ(total.misses, 1);
  EXPECT_EQ(total.near, 2);
  EXPECT_THAT(total.violations, SizeIs(1));
  EXPECT_THAT(total.lags_ns, SizeIs(1));
}

TEST(CheckCoherenceTest, CountsNearReads) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1))};
  const std::vector<CoherenceRead> reads = {
      ValueAt("k", 5, 1), CoherenceRead::Value("k", Ms(6), Ms(7), 1, /*near=*/false)};
  EXPECT_EQ(CheckCoherence(changes, reads, kDelta).near, 1);
}

TEST(CoherenceHistoryTest, LinesRoundTrip) {
  const CoherenceChange write = CoherenceChange::Write("k07", 3, 100, 200);
  const CoherenceChange failed = CoherenceChange::FailedWrite("k07", 4, 300);
  const CoherenceChange prefix = CoherenceChange::Removal(Kind::kPrefix, "k07", 3, 400, 500);
  const CoherenceRead read = CoherenceRead::Value("k07", 600, 700, 3, true);
  const CoherenceRead miss = CoherenceRead::Other(Result::kMiss, "k07", 800, 900, false);
  const FirstSighting seen{"k07", 3, 250};
  const Stall stall{1000, 2000};
  CoherenceHistory history;
  ASSERT_OK(
      ParseHistory(absl::StrCat(FormatLine(write), "\n", FormatLine(failed), "\n",
                                FormatLine(prefix), "\n", FormatLine(read), "\n", FormatLine(miss),
                                "\n", FormatLine(seen), "\n", FormatLine(stall), "\n"),
                   history));
  ASSERT_THAT(history.changes, SizeIs(3));
  EXPECT_EQ(FormatLine(history.changes[0]), FormatLine(write));
  EXPECT_EQ(FormatLine(history.changes[1]), FormatLine(failed));
  EXPECT_EQ(FormatLine(history.changes[2]), FormatLine(prefix));
  ASSERT_THAT(history.reads, SizeIs(2));
  EXPECT_EQ(FormatLine(history.reads[0]), FormatLine(read));
  EXPECT_EQ(FormatLine(history.reads[1]), FormatLine(miss));
  ASSERT_THAT(history.sightings, SizeIs(1));
  EXPECT_EQ(FormatLine(history.sightings[0]), FormatLine(seen));
  ASSERT_THAT(history.stalls, SizeIs(1));
  EXPECT_EQ(FormatLine(history.stalls[0]), FormatLine(stall));
}

TEST(CoherenceHistoryTest, RefusesUnparsableLines) {
  for (const char* line :
       {"X k 1 2 3", "W k 1 2", "R k 1 2 z 0 1", "R k 1 2 v 0 2", "S k x 1", "G 1"}) {
    CoherenceHistory history;
    EXPECT_THAT(ParseHistory(line, history), StatusCodeIs(absl::StatusCode::kDataLoss)) << line;
  }
}

TEST(CoherenceHistoryTest, VersionedValuesNameTheirKey) {
  EXPECT_EQ(VersionedValue("k01", 12), "k01:12");
  EXPECT_EQ(ParseVersionedValue("k01", "k01:12"), 12);
  EXPECT_EQ(ParseVersionedValue("k01", "k02:12"), std::nullopt);
  EXPECT_EQ(ParseVersionedValue("k01", "k01:0"), std::nullopt);
  EXPECT_EQ(ParseVersionedValue("k01", "k01:"), std::nullopt);
}

TEST(PropagationDelaysTest, MeasuresFromTheAcknowledgementOfTheWriteSeen) {
  const std::vector<CoherenceChange> changes = {CoherenceChange::Write("k", 1, Ms(0), Ms(1)),
                                                CoherenceChange::Write("k", 2, Ms(5), Ms(10)),
                                                CoherenceChange::FailedWrite("k", 3, Ms(20))};
  const std::vector<FirstSighting> sightings = {
      {"k", 1, Ms(3)}, {"k", 2, Ms(9)}, {"k", 3, Ms(30)}, {"other", 1, Ms(4)}};
  EXPECT_THAT(PropagationDelays(changes, sightings), ElementsAre(Ms(3) - Ms(1), Ms(9) - Ms(10)));
}

TEST(SummarizeTest, TakesNearestRankPercentiles) {
  std::vector<int64_t> samples;
  for (int64_t i = 100; i >= 1; --i) samples.push_back(i * 1000);
  const LatencySummary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100);
  EXPECT_EQ(summary.p50, absl::Microseconds(50));
  EXPECT_EQ(summary.p99, absl::Microseconds(99));
  EXPECT_EQ(summary.max, absl::Microseconds(100));
  EXPECT_EQ(Summarize({}).count, 0);
}

}  // namespace
}  // namespace larder::testing

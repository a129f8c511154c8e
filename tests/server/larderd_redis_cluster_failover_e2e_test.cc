// End to end, a Redis Cluster master killed under load (the fixture and the load:
// larderd_redis_cluster_e2e.h): one master is killed with SIGKILL and its replica is promoted.
// Every call that fails, fails with UNAVAILABLE within its deadline, only between the kill and a
// bounded time after the cluster is healthy again; after that every call succeeds, every entry
// the replicas had (written before the load, plus a quiet pause) is still there, and readiness is
// SERVING, all without restarting larderd. The test prints a summary line: calls, failures by
// code, and the failover window.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/larderd_redis_cluster_e2e.h"

namespace larder::redis_cluster_e2e {
namespace {

using ::larder::testing::CodeCounts;
using ::larder::testing::FirstOf;
using ::larder::testing::Since;

// After the kept entries are written, before the load: the replicas have them by then.
constexpr absl::Duration kQuietPause = absl::Seconds(2);
// How long after the cluster is healthy again calls may still fail: the router rediscovers the
// slots at most every 100 ms, a pool's reconnection backoff is at most 2 s.
constexpr absl::Duration kRecoveryBound = absl::Seconds(5);
// Load kept running after kRecoveryBound, every call of which must succeed.
constexpr absl::Duration kLoadAfterRecovery = absl::Seconds(3);
// A write acknowledged this shortly before a master dies may not have reached its replica.
constexpr absl::Duration kReplicationLag = absl::Seconds(1);

// One master's failover as the test drove it.
struct Failover {
  int victim = -1;                // The node killed.
  std::vector<int> victim_slots;  // Its slots before the kill, ascending.
  absl::Time load_began;
  absl::Time killed;  // Just before SIGKILL.
  absl::Time healed;  // When AwaitHealthy returned.

  // Whether losing an entry acknowledged at `acked` may be Redis's asynchronous replication, not
  // larderd: the killed master held it, and it was written by the load, before the kill.
  bool MayHaveLost(const Mismatch& lost) const {
    return std::binary_search(victim_slots.begin(), victim_slots.end(), BucketSlotOf(lost.key)) &&
           lost.acked >= load_began && lost.acked < killed;
  }
  // Calls may fail only if they end after the kill and start before the recovery bound.
  bool MayFail(const Call& call) const {
    return call.end >= killed && call.start <= healed + kRecoveryBound;
  }
};

// Failed calls that broke the failover's rules: outside the window it allows.
std::vector<std::string> FailedOutsideTheWindow(const std::vector<Call>& calls,
                                                const Failover& failover) {
  std::vector<std::string> outside;
  for (const Call& call : calls) {
    if (call.code != grpc::StatusCode::OK && !failover.MayFail(call)) {
      outside.push_back(
          absl::StrCat("at kill", Since(failover.killed, call.start), ": ", Describe(call)));
    }
  }
  return outside;
}

// "failures from kill+812ms to kill+3211ms" (or "no failures").
std::string FailureWindow(const std::vector<Call>& calls, absl::Time killed) {
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const Call& call : calls) {
    if (call.code == grpc::StatusCode::OK) continue;
    first = std::min(first, call.start);
    last = std::max(last, call.end);
  }
  if (first == absl::InfiniteFuture()) return "no failures";
  return absl::StrCat("failures from kill", Since(killed, first), " to kill", Since(killed, last));
}

// Kills the master `failover.victim` of `cluster` under `load`, waits until the cluster is
// healthy again, then keeps the load running past the recovery bound.
void KillMasterUnder(RedisClusterProcess& cluster, ClusterLoad& load, Failover& failover) {
  failover.killed = absl::Now();
  cluster.node(failover.victim).Kill();
  const absl::Status healed = cluster.AwaitHealthy(kHealTimeout);
  failover.healed = absl::Now();
  ASSERT_TRUE(healed.ok()) << healed;
  const int promoted = cluster.MasterOf(failover.victim_slots.front());
  ASSERT_GE(promoted, 0) << "no master of slot " << failover.victim_slots.front();
  ASSERT_NE(promoted, failover.victim);
  const absl::Time recovered = failover.healed + kRecoveryBound;
  ASSERT_TRUE(load.AwaitCalls(recovered + kLoadAfterRecovery, 1, absl::Seconds(30)))
      << "a client thread stopped making calls";
}

// Every call within the rules of a failover: OK or UNAVAILABLE within the deadline, failing
// only in the window, reading what was written unless the failover may have lost it. Returns
// the reads that answered otherwise than was written.
int ExpectFailoverWithinTheRules(const LoadRecord& record, const Failover& failover) {
  const std::vector<std::string> broken = RuleBreakers(record.calls);
  EXPECT_TRUE(broken.empty()) << FirstOf(broken);
  const std::vector<std::string> outside = FailedOutsideTheWindow(record.calls, failover);
  EXPECT_TRUE(outside.empty()) << "failed outside the window: " << FirstOf(outside);
  std::vector<Mismatch> wrong;
  for (const Mismatch& mismatch : record.mismatches) {
    if (!failover.MayHaveLost(mismatch)) wrong.push_back(mismatch);
  }
  EXPECT_TRUE(wrong.empty()) << "wrong answers: " << FirstOf(wrong, DescribeMismatch);
  return static_cast<int>(wrong.size());
}

// The load's entries acknowledged before the kill that are gone, split into those Redis's
// asynchronous replication may have lost (reported) and the others (asserted absent).
void ExpectLoadEntriesKept(CacheCalls& cache, const std::vector<Written>& written,
                           const Failover& failover, std::string* report) {
  std::vector<Mismatch> may_lose, must_keep;
  int on_victim = 0, lately = 0;
  for (const Mismatch& lost : Unreadable(cache, written)) {
    (failover.MayHaveLost(lost) ? may_lose : must_keep).push_back(lost);
  }
  for (const Written& entry : written) {
    on_victim += failover.MayHaveLost({entry.key, entry.acked, ""});
  }
  for (const Mismatch& lost : may_lose) lately += lost.acked >= failover.killed - kReplicationLag;
  EXPECT_TRUE(must_keep.empty()) << "entries lost: " << FirstOf(must_keep, DescribeMismatch);
  *report = absl::StrCat("lost acknowledged writes ", may_lose.size(), " of ", on_victim,
                         " on the killed master (", lately, " within ",
                         absl::FormatDuration(kReplicationLag), " of the kill)");
  if (!may_lose.empty()) {
    std::cout << "[ lost     ] " << FirstOf(may_lose, DescribeMismatch) << std::endl;
  }
}

TEST_F(RedisClusterE2eTest, AKilledMasterCostsOnlyTheCallsOfTheFailoverWindow) {
  ASSERT_NO_FATAL_FAILURE(WriteKeptEntries());
  absl::SleepFor(kQuietPause);  // The replicas catch up: the kept entries must survive.
  Failover failover;
  failover.victim = cluster_->MasterOf(BucketSlotOf(KeptKey(0)));
  ASSERT_GE(failover.victim, 0);
  failover.victim_slots = cluster_->SlotsOf(failover.victim);
  ASSERT_FALSE(failover.victim_slots.empty());
  LoadRecord record;
  {
    ClusterLoad load(server_->channel(), LoadOptions{});
    failover.load_began = absl::Now();
    ASSERT_TRUE(load.AwaitRoundTrips(failover.load_began, absl::Seconds(10))) << "no load ran";
    ASSERT_TRUE(load.AwaitCalls(failover.load_began + absl::Seconds(1), 1, absl::Seconds(10)));
    ASSERT_NO_FATAL_FAILURE(KillMasterUnder(*cluster_, load, failover));
    record = StopAndRecord(load);
  }
  const int wrong = ExpectFailoverWithinTheRules(record, failover);
  const std::vector<Mismatch> kept_lost = Unreadable(*cache_, KeptEntries());
  EXPECT_TRUE(kept_lost.empty()) << "kept entries lost: " << FirstOf(kept_lost, DescribeMismatch);
  std::string lost_report;
  ExpectLoadEntriesKept(*cache_, record.written, failover, &lost_report);
  EXPECT_TRUE(ReadinessBecomes(HealthState::kServing)) << "readiness stayed NOT_SERVING";
  EXPECT_FALSE(server_->process().WaitForExit(absl::ZeroDuration(), nullptr))
      << "larderd exited: " << server_->process().LogTail();
  std::cout << "[ summary  ] failover of node " << failover.victim << ": " << record.calls.size()
            << " calls (" << CodeCounts(record.calls) << "); "
            << FailureWindow(record.calls, failover.killed) << "; healthy at kill"
            << Since(failover.killed, failover.healed) << "; " << record.mismatches.size() - wrong
            << " reads missed writes lost in the failover; " << lost_report << std::endl;
}

}  // namespace
}  // namespace larder::redis_cluster_e2e

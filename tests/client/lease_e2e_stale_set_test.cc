// Leases end to end, the stale set: a slow computation overtaken by an invalidation must never
// leave its old value stored. Process A (lease_e2e_herd_child) misses, gets the lease, reads
// "the database" (a file) = v1 and computes for 200 ms; meanwhile the test writes v2 to the
// database and invalidates the key (Delete, Invalidate by tag, by prefix); A's Set lands after
// that. A checker over the recorded Gets (lease_e2e_history.h) asserts that no Get starting after
// the invalidation returns v1. 20 rounds per case, each on a new key. Without a lease token
// (fleet_single_flight=false) the same scenario stores v1: the bug the lease prevents.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/client/lease_e2e_harness.h"
#include "tests/client/lease_e2e_history.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {
namespace {

constexpr int kRounds = 20;
constexpr absl::Duration kPeriod = absl::Milliseconds(400);
constexpr absl::Duration kCompute = absl::Milliseconds(200);
// How long after A's computation ends the test keeps reading the key (A's Set lands in it).
constexpr absl::Duration kReadOn = absl::Milliseconds(150);
constexpr char kNamespace[] = "herd";

enum class Invalidation { kDelete, kTag, kPrefix };

std::string NameOf(Invalidation how) {
  switch (how) {
    case Invalidation::kDelete:
      return "Delete";
    case Invalidation::kTag:
      return "InvalidateTag";
    case Invalidation::kPrefix:
      return "InvalidatePrefix";
  }
  return "?";
}

void PrintTo(Invalidation how, std::ostream* out) { *out << NameOf(how); }

struct Figures {
  int overtaken = 0;  // Rounds whose invalidation ended before A's computation did.
  int gets = 0;
  std::set<std::string> keys_with_stale_reads;
  std::vector<StaleRead> stale_reads;
  int final_misses = 0;
};

// The scenario, with the invalidation of the test parameter; RunScenario(leases) plays it.
class StaleSetE2eTest : public ::testing::TestWithParam<Invalidation> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, LarderdProcess::Start());
    ClientOptions options;
    options.target = server_->grpc_address();
    options.deadline = absl::Seconds(5);
    ASSERT_OK_AND_ASSIGN(client_, Client::Create(options));
    dir_ = MakeTempDir("larder-lease-stale-set");
    ASSERT_EQ(mkdir((dir_ + "/db").c_str(), 0755), 0);
  }
  void TearDown() override { RemoveTree(dir_); }

  static std::string Key(int round) { return absl::StrCat("k", round); }
  static std::string Old(int round) { return absl::StrCat("v1-", round); }

  // Replaces the database's row for `round` (a rename, so a reader sees all of it or none).
  void WriteDb(int round, const std::string& value) const {
    const std::string path = absl::StrCat(dir_, "/db/", Key(round));
    std::ofstream(path + ".new") << value;
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  }

  void Invalidate(const std::string& key) {
    absl::Status status;
    switch (GetParam()) {
      case Invalidation::kDelete:
        status = client_->Delete(kNamespace, key).status();
        break;
      case Invalidation::kTag:
        status = client_->Invalidate(kNamespace, InvalidateTarget::Tag("herd")).status();
        break;
      case Invalidation::kPrefix:
        status = client_->Invalidate(kNamespace, InvalidateTarget::Prefix(key)).status();
        break;
    }
    ASSERT_OK(status);
  }

  void RecordGet(const std::string& key) {
    const absl::Time start = absl::Now();
    absl::StatusOr<GetResult> got = client_->Get(kNamespace, key);
    ASSERT_OK(got.status());
    history_.push_back(HistoryEvent::Get(
        key, start, absl::Now(),
        got->found ? std::make_optional(CachedPayload(got->value)) : std::nullopt));
  }

  // One round: A has read v1 and computes; the database moves to v2 and the key is invalidated;
  // the key is read until well after A's Set.
  void PlayRound(const std::string& runs_file, absl::Time start, int round) {
    const absl::Time due = start + round * kPeriod;
    ASSERT_OK_AND_ASSIGN(HerdRun run,
                         AwaitRun(runs_file, round, due + absl::Seconds(5) - absl::Now()));
    WriteDb(round, absl::StrCat("v2-", round));
    const absl::Time began = absl::Now();
    Invalidate(Key(round));
    const absl::Time ended = absl::Now();
    history_.push_back(HistoryEvent::Invalidation(Key(round), began, ended, Old(round)));
    const absl::Time computed = absl::FromUnixMillis(run.unix_ms) + kCompute;
    if (ended < computed) ++figures_.overtaken;
    while (absl::Now() < computed + kReadOn) {
      RecordGet(Key(round));
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  void RunScenario(bool leases) {
    for (int round = 0; round < kRounds; ++round) WriteDb(round, Old(round));
    ChildSpec spec;
    spec.target = server_->grpc_address();
    spec.start = absl::Now() + absl::Milliseconds(1500);
    spec.period = kPeriod;
    spec.rounds = kRounds;
    spec.compute = kCompute;
    spec.leases = leases;
    spec.runs_file = dir_ + "/runs";
    spec.db_dir = dir_ + "/db";
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> a, StartChild(spec));
    for (int round = 0; round < kRounds; ++round) PlayRound(spec.runs_file, spec.start, round);
    ASSERT_OK(AwaitSuccess(*a, absl::Seconds(30)));
    for (int round = 0; round < kRounds; ++round) RecordGet(Key(round));
    Tally(leases);
  }

  void Tally(bool leases) {
    figures_.stale_reads = FindStaleReads(history_);
    for (const StaleRead& read : figures_.stale_reads) {
      figures_.keys_with_stale_reads.insert(read.key);
    }
    for (const HistoryEvent& event : history_) {
      if (event.kind == HistoryEvent::Kind::kGet) ++figures_.gets;
    }
    for (size_t i = history_.size() - kRounds; i < history_.size(); ++i) {
      if (!history_[i].value.has_value()) ++figures_.final_misses;
    }
    std::cout << (leases ? "leases, " : "no lease token, ") << NameOf(GetParam())
              << ": invalidation overtook the computation in " << figures_.overtaken << " of "
              << kRounds << " rounds; " << figures_.gets << " Gets, " << figures_.stale_reads.size()
              << " returned v1 after the invalidation"
              << " (in " << figures_.keys_with_stale_reads.size()
              << " rounds); final Gets: " << figures_.final_misses << " misses of " << kRounds
              << "\n";
    RecordProperty("stale_reads", static_cast<int>(figures_.stale_reads.size()));
    RecordProperty("rounds_with_stale_reads",
                   static_cast<int>(figures_.keys_with_stale_reads.size()));
  }

  std::unique_ptr<LarderdProcess> server_;
  std::shared_ptr<Client> client_;
  std::string dir_;
  std::vector<HistoryEvent> history_;
  Figures figures_;
};

class LeaseStaleSetE2eTest : public StaleSetE2eTest {};
class NoLeaseStaleSetE2eTest : public StaleSetE2eTest {};

TEST_P(LeaseStaleSetE2eTest, OldValueIsNeverReadAfterTheInvalidation) {
  ASSERT_NO_FATAL_FAILURE(RunScenario(/*leases=*/true));
  // Most rounds really raced (a stalled machine may let A finish first in a few).
  EXPECT_GE(figures_.overtaken, kRounds * 3 / 4);
  EXPECT_THAT(figures_.stale_reads, ::testing::IsEmpty());
}

// The control, and the bug a lease prevents: without a token, A's late Set stores v1 over the
// invalidation, and later Gets return it.
TEST_P(NoLeaseStaleSetE2eTest, OldValueIsStoredOverTheInvalidation) {
  ASSERT_NO_FATAL_FAILURE(RunScenario(/*leases=*/false));
  EXPECT_GE(figures_.overtaken, kRounds * 3 / 4);
  EXPECT_GE(static_cast<int>(figures_.keys_with_stale_reads.size()), figures_.overtaken * 3 / 4);
}

std::string ParamName(const ::testing::TestParamInfo<Invalidation>& info) {
  return NameOf(info.param);
}

INSTANTIATE_TEST_SUITE_P(Invalidations, LeaseStaleSetE2eTest,
                         ::testing::Values(Invalidation::kDelete, Invalidation::kTag,
                                           Invalidation::kPrefix),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Invalidations, NoLeaseStaleSetE2eTest,
                         ::testing::Values(Invalidation::kDelete, Invalidation::kTag), ParamName);

}  // namespace
}  // namespace larder::testing

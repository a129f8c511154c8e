// The lease end-to-end harness: starts lease_e2e_herd_child processes (real processes, not
// threads) against one or more larderd, waits for them, and reads back what they recorded:
// every run of the cached function ("r pid unix_ms") and every call's result.
//
//   HerdOptions herd;
//   herd.targets = {server->grpc_address()};
//   ASSERT_OK_AND_ASSIGN(HerdOutcome outcome, RunHerd(herd));
//   std::cout << "runs per round: " << Distribution(outcome.runs_per_round) << "\n";
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace larder::testing {

// The child program: $LEASE_HERD_CHILD, else the one this build made.
std::string HerdChildPath();

// One run of the cached function, as the function recorded it.
struct HerdRun {
  int round = 0;
  int64_t pid = 0;
  int64_t unix_ms = 0;
};

// One call of the cached function and what it returned.
struct HerdCall {
  int round = 0;
  int64_t pid = 0;
  int64_t call_us = 0;
  std::string value;
};

// Parses a --runs_file / --results_file; a missing file is empty. kDataLoss on a bad line.
absl::StatusOr<std::vector<HerdRun>> ReadRuns(const std::string& path);
absl::StatusOr<std::vector<HerdCall>> ReadCalls(const std::string& path);

// How many runs each round 0 .. rounds-1 had.
std::vector<int> RunsPerRound(const std::vector<HerdRun>& runs, int rounds);
// How many rounds ran the function how many times: "1 x100", or "0 x1, 1 x98, 2 x1".
std::string Distribution(const std::vector<int>& runs_per_round);
// The calls that returned something other than "v<round>-<pid>" of a recorded run of their
// round: with the function run once, every process must get that run's value.
int CallsWithoutARunsValue(const std::vector<HerdRun>& runs, const std::vector<HerdCall>& calls);

// The function's result inside what larder::Cached stored (its envelope, client/src/envelope.h);
// `stored` itself when it is not an envelope.
std::string CachedPayload(const std::string& stored);

// The command line of one child (see lease_e2e_herd_child.cc for each flag).
struct ChildSpec {
  std::string target;
  std::string namespace_name = "herd";
  absl::Time start = absl::UnixEpoch();  // The epoch: start at once.
  absl::Duration period = absl::Milliseconds(250);
  int rounds = 1;
  absl::Duration compute = absl::Milliseconds(50);  // Negative: the function never returns.
  bool leases = true;
  absl::Duration lease_ttl = absl::Seconds(5);
  absl::Duration lease_wait = absl::Seconds(10);
  absl::Duration ttl = absl::Hours(1);
  std::string runs_file;
  std::string results_file;
  std::string db_dir;
  std::string hot_key;
};
absl::StatusOr<std::unique_ptr<ChildProcess>> StartChild(const ChildSpec& spec);

// Waits until `runs_file` records a run of `round`. kDeadlineExceeded after `timeout`.
absl::StatusOr<HerdRun> AwaitRun(const std::string& runs_file, int round, absl::Duration timeout);

// Waits for a child to exit with status 0 within `timeout`; else an error with its stderr.
absl::Status AwaitSuccess(ChildProcess& child, absl::Duration timeout);

struct HerdOptions {
  // The children are dealt round-robin over these larderd addresses.
  std::vector<std::string> targets;
  int processes = 20;
  int rounds = 100;
  absl::Duration period = absl::Milliseconds(250);
  absl::Duration compute = absl::Milliseconds(50);
  bool leases = true;
};

struct HerdOutcome {
  std::vector<HerdRun> runs;
  std::vector<HerdCall> calls;
  std::vector<int> runs_per_round;
  // What the children wrote to standard error (errors only; normally empty).
  std::string child_errors;
};

// Starts `processes` children with one shared start time, one round per key k<r>, and waits for
// all of them (each must exit 0). Takes about rounds * period plus a few seconds of start-up.
absl::StatusOr<HerdOutcome> RunHerd(const HerdOptions& options);

}  // namespace larder::testing

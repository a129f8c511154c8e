// The lease end-to-end harness: see lease_e2e_harness.h.
#include "tests/client/lease_e2e_harness.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/src/envelope.h"

namespace larder::testing {
namespace {

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

absl::Status BadLine(const std::string& path, const std::string& line) {
  return absl::DataLossError(absl::StrCat(path, ": unparsable line \"", line, "\""));
}

std::string DurationFlag(absl::string_view name, absl::Duration d) {
  return absl::StrCat("--", name, "=", absl::ToInt64Milliseconds(d));
}

}  // namespace

std::string HerdChildPath() {
  const char* from_env = getenv("LEASE_HERD_CHILD");
  return from_env != nullptr ? from_env : LARDER_LEASE_HERD_CHILD_PATH;
}

absl::StatusOr<std::vector<HerdRun>> ReadRuns(const std::string& path) {
  std::vector<HerdRun> runs;
  for (const std::string& line : Lines(path)) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    HerdRun run;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &run.round) ||
        !absl::SimpleAtoi(fields[1], &run.pid) || !absl::SimpleAtoi(fields[2], &run.unix_ms)) {
      return BadLine(path, line);
    }
    runs.push_back(run);
  }
  return runs;
}

absl::StatusOr<std::vector<HerdCall>> ReadCalls(const std::string& path) {
  std::vector<HerdCall> calls;
  for (const std::string& line : Lines(path)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    HerdCall call;
    if (fields.size() != 4 || !absl::SimpleAtoi(fields[0], &call.round) ||
        !absl::SimpleAtoi(fields[1], &call.pid) || !absl::SimpleAtoi(fields[2], &call.call_us)) {
      return BadLine(path, line);
    }
    call.value = std::move(fields[3]);
    calls.push_back(std::move(call));
  }
  return calls;
}

std::vector<int> RunsPerRound(const std::vector<HerdRun>& runs, int rounds) {
  std::vector<int> per_round(static_cast<size_t>(rounds), 0);
  for (const HerdRun& run : runs) {
    if (run.round >= 0 && run.round < rounds) ++per_round[static_cast<size_t>(run.round)];
  }
  return per_round;
}

std::string Distribution(const std::vector<int>& runs_per_round) {
  std::map<int, int> rounds_with;  // runs -> rounds
  for (int runs : runs_per_round) ++rounds_with[runs];
  return absl::StrJoin(rounds_with, ", ", [](std::string* out, const std::pair<int, int>& entry) {
    absl::StrAppend(out, entry.first, " x", entry.second);
  });
}

int CallsWithoutARunsValue(const std::vector<HerdRun>& runs, const std::vector<HerdCall>& calls) {
  std::set<std::string> computed;
  for (const HerdRun& run : runs) computed.insert(absl::StrCat("v", run.round, "-", run.pid));
  int unmatched = 0;
  for (const HerdCall& call : calls) {
    const bool of_its_round = absl::StartsWith(call.value, absl::StrCat("v", call.round, "-"));
    if (!of_its_round || computed.count(call.value) == 0) ++unmatched;
  }
  return unmatched;
}

std::string CachedPayload(const std::string& stored) {
  absl::StatusOr<client::internal::Envelope> envelope = client::internal::UnwrapEnvelope(stored);
  return envelope.ok() ? std::string(envelope->payload) : stored;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> StartChild(const ChildSpec& spec) {
  return ChildProcess::Start({
      HerdChildPath(),
      absl::StrCat("--target=", spec.target),
      absl::StrCat("--namespace_name=", spec.namespace_name),
      absl::StrCat("--start_unix_ms=", absl::ToUnixMillis(spec.start)),
      DurationFlag("period_ms", spec.period),
      absl::StrCat("--rounds=", spec.rounds),
      DurationFlag("compute_ms", spec.compute),
      absl::StrCat("--leases=", spec.leases ? "true" : "false"),
      DurationFlag("lease_ttl_ms", spec.lease_ttl),
      DurationFlag("lease_wait_ms", spec.lease_wait),
      DurationFlag("ttl_ms", spec.ttl),
      absl::StrCat("--runs_file=", spec.runs_file),
      absl::StrCat("--results_file=", spec.results_file),
      absl::StrCat("--db_dir=", spec.db_dir),
      absl::StrCat("--hot_key=", spec.hot_key),
  });
}

absl::StatusOr<HerdRun> AwaitRun(const std::string& runs_file, int round, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::vector<HerdRun>> runs = ReadRuns(runs_file);
    if (!runs.ok()) return runs.status();
    for (const HerdRun& run : *runs) {
      if (run.round == round) return run;
    }
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("no run of round ", round, " within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

absl::Status AwaitSuccess(ChildProcess& child, absl::Duration timeout) {
  int status = 0;
  if (!child.WaitForExit(timeout, &status)) {
    return absl::DeadlineExceededError(absl::StrCat("child ", child.pid(), " still running after ",
                                                    absl::FormatDuration(timeout),
                                                    "; stderr: ", child.LogTail()));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("child ", child.pid(), " ended with wait status ",
                                            status, "; stderr: ", child.LogTail()));
  }
  return absl::OkStatus();
}

absl::StatusOr<HerdOutcome> RunHerd(const HerdOptions& options) {
  const std::string dir = MakeTempDir("larder-lease-herd");
  ChildSpec spec;
  spec.start = absl::Now() + absl::Seconds(1) + options.processes * absl::Milliseconds(100);
  spec.period = options.period;
  spec.rounds = options.rounds;
  spec.compute = options.compute;
  spec.leases = options.leases;
  spec.runs_file = dir + "/runs";
  spec.results_file = dir + "/results";
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < options.processes; ++i) {
    spec.target = options.targets[static_cast<size_t>(i) % options.targets.size()];
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = StartChild(spec);
    if (!child.ok()) return child.status();
    children.push_back(*std::move(child));
  }
  const absl::Time deadline = spec.start + options.rounds * options.period + absl::Seconds(60);
  HerdOutcome outcome;
  for (auto& child : children) {
    if (absl::Status done = AwaitSuccess(*child, deadline - absl::Now()); !done.ok()) return done;
    absl::StrAppend(&outcome.child_errors, child->LogTail());
  }
  absl::StatusOr<std::vector<HerdRun>> runs = ReadRuns(spec.runs_file);
  if (!runs.ok()) return runs.status();
  absl::StatusOr<std::vector<HerdCall>> calls = ReadCalls(spec.results_file);
  if (!calls.ok()) return calls.status();
  RemoveTree(dir);
  outcome.runs = *std::move(runs);
  outcome.calls = *std::move(calls);
  outcome.runs_per_round = RunsPerRound(outcome.runs, options.rounds);
  return outcome;
}

}  // namespace larder::testing

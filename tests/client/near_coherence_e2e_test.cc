// The near cache's coherence, end to end with real processes: a writer process (no near cache)
// changes 64 keys of namespace "coherent" thousands of times a second (Sets of increasing
// versions, Deletes, Invalidates by prefix and tag) while two near-cached reader processes and a
// near-cached probe read them (near_coherence_child.cc). The recorded histories are checked
// (near_coherence_history.h): no read may return a value made old by a change acknowledged more
// than δ = 100 ms before it started (less any time the reading process was stalled). Runs: one
// larderd (memory engine); one larderd SIGKILLed and restarted on its port mid-run; two larderd
// replicas on one redis-server (changes crossing replicas through Redis pub/sub); the same with
// redis-server restarted mid-run; and, to show the check can fail, a reader that keeps old
// values. Each prints one summary line (changes/s, reads, near-hit share, staleness lag,
// propagation delay) and one line per child; the histories of a failed run are kept.
#include <stdlib.h>
#include <sys/wait.h>

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/status_macros.h"
#include "tests/client/near_coherence_history.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/sanitizer_build.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {
namespace {

constexpr absl::Duration kDelta = absl::Milliseconds(100);
// The children connect (and their near caches go live) before the shared start time.
constexpr absl::Duration kStartUp = absl::Milliseconds(1500);
constexpr absl::Duration kRunFor = absl::Seconds(4);
// When a fault strikes, from the start, and how long the killed server stays down.
constexpr absl::Duration kFaultAt = absl::Milliseconds(1500);
constexpr absl::Duration kDownFor = absl::Milliseconds(300);
// Each child's cap on its reconnection pauses in a run with a fault (ClientOptions'
// max_reconnect_backoff, 1 s by default): the run goes on about 2 s after the recovery, and
// a reader that reconnects at the default cap's pace (pauses doubling from 20 ms while the
// server is down) may pass most of that asleep, leaving its near cache no time to serve again.
constexpr absl::Duration kFaultRunReconnectCap = absl::Milliseconds(200);
// Floors that make a pass mean something on a busy 2-core machine.
constexpr int64_t kMinChangesPerSecond = 500;
constexpr int64_t kMinReadsPerReader = 400;
constexpr int64_t kMinProbeSightings = 100;
constexpr double kMinNearShare = 0.2;

std::string ChildPath() {
  const char* from_env = getenv("NEAR_COHERENCE_CHILD");
  return from_env != nullptr ? from_env : LARDER_NEAR_COHERENCE_CHILD_PATH;
}

std::string Port(const std::string& address) {
  return std::string(address.substr(address.rfind(':') + 1));
}

// Who reads and writes through which larderd, and what goes wrong mid-run.
struct RunSpec {
  std::string name;
  std::vector<std::string> writer_targets;  // Used in turn.
  std::vector<std::string> reader_targets;  // One reader process each.
  std::string probe_target;                 // Empty: no probe.
  std::function<absl::Status()> fault;      // Runs at kFaultAt when set.
  std::vector<std::string> reader_flags = {};
};

// What one child recorded and printed ("role=reader reads=… near_hits=…").
struct ChildRecord {
  CoherenceHistory history;
  std::map<std::string, std::string> summary;

  double Number(const std::string& field) const {
    auto found = summary.find(field);
    double value = 0;
    return found != summary.end() && absl::SimpleAtod(found->second, &value) ? value : -1;
  }
};

struct RunRecord {
  ChildRecord writer;
  std::vector<ChildRecord> readers;
  ChildRecord probe;
  int64_t start_ns = 0;
  int64_t recovered_ns = 0;  // When the fault was over (0 without one).
  std::string dir;           // The children's history files.
};

absl::StatusOr<std::unique_ptr<ChildProcess>> StartChild(const std::string& role,
                                                         const std::vector<std::string>& targets,
                                                         int64_t start_ns, const std::string& out,
                                                         std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {
      ChildPath(),
      absl::StrCat("--role=", role),
      absl::StrCat("--targets=", absl::StrJoin(targets, ",")),
      absl::StrCat("--start_ns=", start_ns),
      absl::StrCat("--duration_ms=", absl::ToInt64Milliseconds(kRunFor)),
      absl::StrCat("--out=", out)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return ChildProcess::Start(argv);
}

// Waits for `child` to print its summary and exit 0, then reads its history from `out`.
absl::StatusOr<ChildRecord> Collect(ChildProcess& child, const std::string& out) {
  absl::StatusOr<std::string> printed = child.ReadToEnd(kRunFor + absl::Seconds(60));
  int status = 0;
  if (!printed.ok() || !child.WaitForExit(absl::Seconds(10), &status) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("child ", child.pid(), " failed (wait status ", status,
                                            "); stderr: ", child.LogTail()));
  }
  ChildRecord record;
  for (absl::string_view line : absl::StrSplit(*printed, '\n')) {
    if (!absl::ConsumePrefix(&line, "near_coherence_child ")) continue;
    for (absl::string_view field : absl::StrSplit(line, ' ')) {
      std::vector<std::string> pair = absl::StrSplit(field, absl::MaxSplits('=', 1));
      if (pair.size() == 2) record.summary[pair[0]] = pair[1];
    }
  }
  if (record.summary.empty()) return absl::InternalError("child printed no summary: " + *printed);
  if (absl::Status read = ReadHistoryFile(out, record.history); !read.ok()) return read;
  return record;
}

// Runs the children of `spec` from a start time shared by all, with its fault, and collects
// what they recorded into `dir`.
absl::StatusOr<RunRecord> RunIn(const std::string& dir, const RunSpec& spec) {
  RunRecord run;
  run.start_ns = MonotonicNanos() + absl::ToInt64Nanoseconds(kStartUp);
  std::vector<std::pair<std::unique_ptr<ChildProcess>, std::string>> children;
  auto start = [&](const std::string& role, const std::vector<std::string>& targets,
                   std::vector<std::string> flags) {
    const std::string out = absl::StrCat(dir, "/", role, "-", children.size());
    if (spec.fault) {
      flags.push_back(absl::StrCat("--max_reconnect_backoff_ms=",
                                   absl::ToInt64Milliseconds(kFaultRunReconnectCap)));
    }
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        StartChild(role, targets, run.start_ns, out, flags);
    if (child.ok()) children.emplace_back(*std::move(child), out);
    return child.status();
  };
  LARDER_RETURN_IF_ERROR(start("writer", spec.writer_targets, {}));
  for (const std::string& target : spec.reader_targets) {
    LARDER_RETURN_IF_ERROR(start("reader", {target}, spec.reader_flags));
  }
  if (!spec.probe_target.empty()) LARDER_RETURN_IF_ERROR(start("probe", {spec.probe_target}, {}));
  if (spec.fault) {
    absl::SleepFor(absl::Nanoseconds(run.start_ns - MonotonicNanos()) + kFaultAt);
    LARDER_RETURN_IF_ERROR(spec.fault());
    run.recovered_ns = MonotonicNanos();
  }
  for (auto& [child, out] : children) {
    absl::StatusOr<ChildRecord> record = Collect(*child, out);
    if (!record.ok()) return record.status();
    const std::string role = record->summary["role"];
    if (role == "writer") run.writer = *std::move(record);
    if (role == "reader") run.readers.push_back(*std::move(record));
    if (role == "probe") run.probe = *std::move(record);
  }
  run.dir = dir;
  return run;
}

absl::StatusOr<RunRecord> RunCoherence(const RunSpec& spec) {
  const std::string dir = MakeTempDir("larder-near-coherence");
  absl::StatusOr<RunRecord> run = RunIn(dir, spec);
  if (!run.ok()) RemoveTree(dir);
  return run;
}

std::vector<const ChildRecord*> ReadingChildren(const RunRecord& run) {
  std::vector<const ChildRecord*> children;
  for (const ChildRecord& reader : run.readers) children.push_back(&reader);
  if (!run.probe.summary.empty()) children.push_back(&run.probe);
  return children;
}

// Every reader's and the probe's reads checked against the writer's changes, each with the
// stalls of its own process.
CoherenceReport CheckRun(const RunRecord& run) {
  CoherenceReport report;
  for (const ChildRecord* child : ReadingChildren(run)) {
    report.Add(CheckCoherence(run.writer.history.changes, child->history.reads, kDelta,
                              child->history.stalls));
  }
  return report;
}

// How long the writer's acknowledged Sets took (a slow larderd shows here first).
std::vector<int64_t> SetLatencies(const std::vector<CoherenceChange>& changes) {
  std::vector<int64_t> latencies;
  for (const CoherenceChange& change : changes) {
    if (change.kind == CoherenceChange::Kind::kWrite) {
      latencies.push_back(change.ack_ns - change.sent_ns);
    }
  }
  return latencies;
}

std::string Stalls(const ChildRecord& child) {
  return absl::StrCat("stalls ", child.Number("stalls"), " (longest ",
                      child.Number("longest_stall_ms"), " ms)");
}

// One line per child: what its near cache did and how long the process stalled.
void PrintChildren(const RunRecord& run) {
  std::cout << "  writer: Set latency "
            << FormatSummary(Summarize(SetLatencies(run.writer.history.changes))) << ", "
            << Stalls(run.writer) << "\n";
  for (const ChildRecord* child : ReadingChildren(run)) {
    std::cout << "  " << child->summary.at("role") << ": near_hits " << child->Number("near_hits")
              << ", near_misses " << child->Number("near_misses") << ", resets "
              << child->Number("near_resets") << ", refused installs "
              << child->Number("refused_installs") << ", " << Stalls(*child) << "\n";
  }
}

// changes/s, reads, near-hit share, lag, propagation and violations, on one line.
void PrintSummaryLine(const std::string& name, const RunRecord& run,
                      const CoherenceReport& report) {
  int64_t reader_reads = 0;
  int64_t reader_near = 0;
  for (const ChildRecord& reader : run.readers) {
    for (const CoherenceRead& read : reader.history.reads) reader_near += read.near ? 1 : 0;
    reader_reads += std::ssize(reader.history.reads);
  }
  const double acked = run.writer.Number("acknowledged");
  std::cout << "near-coherence " << name << ": changes " << acked << " acked ("
            << static_cast<int64_t>(acked / absl::ToDoubleSeconds(kRunFor)) << "/s, "
            << run.writer.Number("failed") << " failed); reads " << report.reads << " (readers "
            << reader_reads << ", near-hit share "
            << (reader_reads > 0 ? 100.0 * reader_near / reader_reads : 0) << "%; probe "
            << run.probe.history.reads.size() << "), misses " << report.misses << ", errors "
            << report.errors << ", unacknowledged values " << report.unacknowledged_values
            << "; stale reads " << report.lags_ns.size() << " lag "
            << FormatSummary(Summarize(report.lags_ns)) << "; propagation "
            << FormatSummary(Summarize(
                   PropagationDelays(run.writer.history.changes, run.probe.history.sightings)))
            << "; violations at " << absl::FormatDuration(kDelta) << ": "
            << report.violations.size()
            << " (beyond it only during stalls of the reader: " << report.excused_by_stalls
            << ")\n";
}

enum class Expect { kCoherence, kViolations };

// Prints the run's lines and its first violations (keeping the histories when there are
// unexpected ones); returns the whole report.
CoherenceReport CheckAndPrint(const std::string& name, const RunRecord& run,
                              Expect expect = Expect::kCoherence) {
  const CoherenceReport report = CheckRun(run);
  PrintSummaryLine(name, run, report);
  PrintChildren(run);
  const size_t shown = expect == Expect::kCoherence ? 10 : 3;
  for (size_t i = 0; i < report.violations.size() && i < shown; ++i) {
    std::cout << "  violation: " << FormatLine(report.violations[i].read) << ": "
              << report.violations[i].why << "\n";
  }
  if (report.violations.empty() || expect == Expect::kViolations) {
    RemoveTree(run.dir);
  } else {
    std::cout << "  histories kept in " << run.dir << "\n";
  }
  return report;
}

// The assertions every run shares: nothing old beyond δ, and enough happened to mean it.
void ExpectCoherentAndBusy(const CoherenceReport& report, const RunRecord& run) {
  EXPECT_THAT(report.violations, ::testing::IsEmpty());
  EXPECT_GE(run.writer.Number("acknowledged"),
            kMinChangesPerSecond * absl::ToDoubleSeconds(kRunFor));
  for (const ChildRecord& reader : run.readers) {
    EXPECT_GE(static_cast<int64_t>(reader.history.reads.size()), kMinReadsPerReader);
  }
  EXPECT_GE(static_cast<int64_t>(run.probe.history.sightings.size()), kMinProbeSightings)
      << "too few versions reached the probe";
}

// Each reader's near cache answered a meaningful share of its reads, by its own metrics, and
// the per-read flags agree with those metrics.
void ExpectNearCacheUsed(const RunRecord& run) {
  for (const ChildRecord& reader : run.readers) {
    const CoherenceReport own = CheckCoherence({}, reader.history.reads, kDelta);
    EXPECT_GT(reader.Number("near_hits"), 0);
    EXPECT_EQ(reader.Number("near_hits"), static_cast<double>(own.near));
    EXPECT_GE(static_cast<double>(own.near), kMinNearShare * static_cast<double>(own.reads));
  }
}

// After a fault: each reader's stream was lost and came back (reset, lost, reset again), and its
// near cache answered reads again after the recovery.
void ExpectNearCacheRecovered(const RunRecord& run) {
  for (const ChildRecord& reader : run.readers) {
    EXPECT_GE(reader.Number("near_resets"), 3);
    int64_t near_after = 0;
    for (const CoherenceRead& read : reader.history.reads) {
      if (read.near && read.start_ns > run.recovered_ns) ++near_after;
    }
    EXPECT_GT(near_after, 0) << "the near cache never served again after the fault";
  }
}

// Every run asserts lags within δ and shares of reads served under load: timing, which a
// sanitizer build (several times slower, five busy processes on two cores) cannot meet.
// Those builds check the same processes' memory and threads in the other end-to-end tests.
class NearCoherenceE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kSanitizerBuild) GTEST_SKIP() << "timing under load: checked by the optimised build";
  }
};

TEST_F(NearCoherenceE2eTest, OneLarderdServesNoValueOldBeyondDelta) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  const std::string target = server->grpc_address();
  ASSERT_OK_AND_ASSIGN(RunRecord run,
                       RunCoherence({"memory", {target}, {target, target}, target, {}}));
  const CoherenceReport report = CheckAndPrint("memory", run);
  ExpectCoherentAndBusy(report, run);
  ExpectNearCacheUsed(run);
}

// The check itself, end to end: a reader that keeps each value it read for a second (a cache
// that ignores changes) must be caught, with lags beyond δ, by the same recording and checker.
TEST_F(NearCoherenceE2eTest, TheCheckCatchesAReaderThatKeepsOldValues) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  const std::string target = server->grpc_address();
  RunSpec spec{"broken reader", {target}, {target}, "", {}};
  spec.reader_flags = {"--near=false", "--keep_values_ms=1000"};
  ASSERT_OK_AND_ASSIGN(RunRecord run, RunCoherence(spec));
  const CoherenceReport report =
      CheckAndPrint("a reader keeping values for 1s", run, Expect::kViolations);
  EXPECT_GT(report.violations.size(), 100u);
  for (const Violation& violation : report.violations) {
    EXPECT_GT(violation.lag_ns, absl::ToInt64Nanoseconds(kDelta)) << violation.why;
  }
}

TEST_F(NearCoherenceE2eTest, LarderdKilledAndRestartedMidRunServesNoOldValue) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  const std::string target = server->grpc_address();
  auto kill_and_restart = [&]() -> absl::Status {
    server->process().Kill();
    absl::SleepFor(kDownFor);
    absl::StatusOr<std::unique_ptr<LarderdProcess>> restarted =
        LarderdProcess::Start({absl::StrCat("--listen=127.0.0.1:", Port(target))});
    if (!restarted.ok()) return restarted.status();
    server = *std::move(restarted);
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(
      RunRecord run,
      RunCoherence({"memory-restart", {target}, {target, target}, target, kill_and_restart}));
  EXPECT_EQ(server->grpc_address(), target);
  const CoherenceReport report = CheckAndPrint("memory, larderd killed and restarted", run);
  ExpectCoherentAndBusy(report, run);
  ExpectNearCacheRecovered(run);
}

// Two larderd replicas (A, B) of the Redis engine on one redis-server.
class NearCoherenceRedisTest : public NearCoherenceE2eTest {
 protected:
  void SetUp() override {
    NearCoherenceE2eTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK_AND_ASSIGN(redis_, RedisServerProcess::Start());
    const std::vector<std::string> args = {"--engine=redis",
                                           absl::StrCat("--redis-url=", redis_->url())};
    ASSERT_OK_AND_ASSIGN(a_, LarderdProcess::Start(args));
    ASSERT_OK_AND_ASSIGN(b_, LarderdProcess::Start(args));
  }

  // The writer alternates between A and B; reader 1 reads through A, reader 2 and the probe
  // through B.
  RunSpec Spec(const std::string& name, std::function<absl::Status()> fault) const {
    return {name,
            {a_->grpc_address(), b_->grpc_address()},
            {a_->grpc_address(), b_->grpc_address()},
            b_->grpc_address(),
            std::move(fault)};
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<LarderdProcess> a_;
  std::unique_ptr<LarderdProcess> b_;
};

TEST_F(NearCoherenceRedisTest, TwoReplicasServeNoValueOldBeyondDelta) {
  ASSERT_OK_AND_ASSIGN(RunRecord run, RunCoherence(Spec("redis", {})));
  const CoherenceReport report = CheckAndPrint("redis, two replicas", run);
  ExpectCoherentAndBusy(report, run);
  ExpectNearCacheUsed(run);
}

TEST_F(NearCoherenceRedisTest, RedisRestartedMidRunServesNoOldValue) {
  auto restart_redis = [this]() -> absl::Status {
    redis_->Kill();
    absl::SleepFor(kDownFor);
    return redis_->Restart();
  };
  ASSERT_OK_AND_ASSIGN(RunRecord run, RunCoherence(Spec("redis-restart", restart_redis)));
  const CoherenceReport report = CheckAndPrint("redis, two replicas, redis restarted", run);
  ExpectCoherentAndBusy(report, run);
  ExpectNearCacheRecovered(run);
}

}  // namespace
}  // namespace larder::testing

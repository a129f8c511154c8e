// lease_e2e_herd_child: one process of a thundering herd, for the lease end-to-end tests
// (tests/client/lease_e2e_*_test.cc) and bench/lease_storm.sh. It connects to larderd with
// larder::Client, wraps a "database read" with larder::Cached (fleet_single_flight per
// --leases), and for rounds r = --first_round .. --rounds-1 sleeps until the shared start time
// --start_unix_ms + r * --period_ms, then calls the cached function for key "k<r>" (or
// --hot_key every round: an expiry storm).
//
// The function appends "r pid unix_ms\n" to --runs_file with one O_APPEND write (so counts are
// exact across processes), sleeps --compute_ms (negative: blocks until killed) and returns
// "v<r>-<pid>", or, with --db_dir, the contents of <db_dir>/k<r> read before the run is
// recorded. With --results_file, each call appends "r pid call_us value\n" once it returns.
// Prints nothing but errors (on standard error); exit status 1 on a start-up error.
//
//   lease_e2e_herd_child --target=127.0.0.1:7400 --start_unix_ms=1767225600000
//       --rounds=100 --period_ms=250 --compute_ms=50 --runs_file=/tmp/herd/runs --leases=true
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "larder/cached.h"
#include "larder/client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "larderd address");
ABSL_FLAG(std::string, namespace_name, "herd", "larder namespace of the cached results");
ABSL_FLAG(int64_t, start_unix_ms, 0, "shared start time T0 (unix ms); 0 starts at once");
ABSL_FLAG(int64_t, period_ms, 250, "round r starts at T0 + r * period");
ABSL_FLAG(int, first_round, 0, "the first round this process calls");
ABSL_FLAG(int, rounds, 1, "rounds are first_round .. rounds - 1");
ABSL_FLAG(int64_t, compute_ms, 50, "how long the function sleeps; negative: until killed");
ABSL_FLAG(std::string, runs_file, "", "the function appends 'r pid unix_ms' here (required)");
ABSL_FLAG(std::string, results_file, "", "each call appends 'r pid call_us value' here");
ABSL_FLAG(std::string, db_dir, "", "the function returns the contents of <db_dir>/k<r>");
ABSL_FLAG(std::string, hot_key, "", "when set, every round uses this key instead of k<r>");
ABSL_FLAG(bool, leases, true, "CachedOptions::fleet_single_flight");
ABSL_FLAG(int64_t, lease_ttl_ms, 5000, "CachedOptions::lease_ttl");
ABSL_FLAG(int64_t, lease_wait_ms, 10000, "CachedOptions::lease_wait");
ABSL_FLAG(int64_t, ttl_ms, 3600000, "CachedOptions::ttl of stored results");
ABSL_FLAG(std::string, tag, "herd", "CachedOptions::tags, for Invalidate by tag");
ABSL_FLAG(int64_t, deadline_ms, 2000, "ClientOptions::deadline");

namespace {

// Appends `line` with one write(2) on an O_APPEND descriptor: concurrent appenders never
// interleave or overwrite each other on a local file system.
void AppendLine(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "lease_e2e_herd_child: cannot append to %s\n", path.c_str());
  }
  if (fd >= 0) close(fd);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The "database read" the herd caches: records the run, then takes --compute_ms.
std::string Compute(int round) {
  const std::string db_dir = absl::GetFlag(FLAGS_db_dir);
  std::string value = db_dir.empty() ? absl::StrCat("v", round, "-", getpid())
                                     : ReadFile(absl::StrCat(db_dir, "/k", round));
  AppendLine(absl::GetFlag(FLAGS_runs_file),
             absl::StrCat(round, " ", getpid(), " ", absl::ToUnixMillis(absl::Now()), "\n"));
  const int64_t compute_ms = absl::GetFlag(FLAGS_compute_ms);
  if (compute_ms < 0) {
    while (true) pause();  // The holder that never finishes: the test kills it.
  }
  absl::SleepFor(absl::Milliseconds(compute_ms));
  return value;
}

larder::CachedOptions OptionsFromFlags() {
  larder::CachedOptions options;
  options.namespace_name = absl::GetFlag(FLAGS_namespace_name);
  options.function_name = "herd";
  options.ttl = absl::Milliseconds(absl::GetFlag(FLAGS_ttl_ms));
  options.tags = {absl::GetFlag(FLAGS_tag)};
  options.fleet_single_flight = absl::GetFlag(FLAGS_leases);
  options.lease_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ttl_ms));
  options.lease_wait = absl::Milliseconds(absl::GetFlag(FLAGS_lease_wait_ms));
  return options;
}

absl::StatusOr<std::shared_ptr<larder::Client>> Connect() {
  larder::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  absl::StatusOr<std::shared_ptr<larder::Client>> client = larder::Client::Create(options);
  if (!client.ok()) return client.status();
  // Connects now, so the first round does not pay for the channel's set-up.
  absl::StatusOr<larder::GetResult> warm =
      (*client)->Get(absl::GetFlag(FLAGS_namespace_name), "warm-up");
  if (!warm.ok()) return warm.status();
  return client;
}

void SleepUntil(absl::Time when) {
  const absl::Duration left = when - absl::Now();
  if (left > absl::ZeroDuration()) absl::SleepFor(left);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_runs_file).empty()) {
    std::fprintf(stderr, "lease_e2e_herd_child: --runs_file is required\n");
    return 1;
  }
  absl::StatusOr<std::shared_ptr<larder::Client>> client = Connect();
  if (!client.ok()) {
    std::fprintf(stderr, "lease_e2e_herd_child: %s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string hot_key = absl::GetFlag(FLAGS_hot_key);
  auto cached = larder::Cached<std::string(int)>(*client, OptionsFromFlags(), Compute)
                    .WithKeyBuilder([hot_key](int round) {
                      return hot_key.empty() ? absl::StrCat("k", round) : hot_key;
                    });
  if (!cached.status().ok()) {
    std::fprintf(stderr, "lease_e2e_herd_child: %s\n", cached.status().ToString().c_str());
    return 1;
  }
  const int64_t start_ms = absl::GetFlag(FLAGS_start_unix_ms);
  const absl::Time start = start_ms > 0 ? absl::FromUnixMillis(start_ms) : absl::Now();
  const absl::Duration period = absl::Milliseconds(absl::GetFlag(FLAGS_period_ms));
  for (int round = absl::GetFlag(FLAGS_first_round); round < absl::GetFlag(FLAGS_rounds); ++round) {
    SleepUntil(start + round * period);
    const absl::Time called = absl::Now();
    const std::string value = cached(round);
    AppendLine(absl::GetFlag(FLAGS_results_file),
               absl::StrCat(round, " ", getpid(), " ",
                            absl::ToInt64Microseconds(absl::Now() - called), " ", value, "\n"));
  }
  return 0;
}

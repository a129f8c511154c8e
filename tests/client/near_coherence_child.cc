// near_coherence_child: one process of the near-cache coherence end-to-end tests
// (near_coherence_e2e_test.cc). From --start_ns (CLOCK_MONOTONIC) for --duration_ms it plays
// one --role against larderd, then writes what it recorded to --out (near_coherence_history.h
// lines) and prints one summary line ("near_coherence_child role=… key=value …") on stdout:
//
//   writer  CoherenceWriter (near_coherence_writer.h) through a plain larder::Client (no near
//           cache) per --targets address: Sets, Deletes and Invalidates of keys k00 .. at most
//           --write_rate changes/s, recording each change once it is answered.
//   reader  A near-cached client (--near) of the first target: Gets random keys, at most
//           --read_rate/s, --hot_read_percent of them of the hot keys, recording each read and
//           whether the near cache answered it (its
//           larder_client_near_cache_lookups_total{result="hit"} moved). --keep_values_ms
//           turns it into a broken cache, for the test that the checker catches one.
//   probe   A near-cached client polling the last --probe_keys keys every --poll_us: records
//           each read and the first time each new version is seen.
//
//   near_coherence_child --role=reader --targets=127.0.0.1:7400 --start_ns=… --duration_ms=4000
//       --out=/tmp/run/reader-1
//
// Errors go to standard error; exit status 1 on a start-up error.
#include <sys/prctl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "larder/client.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "tests/client/near_coherence_history.h"
#include "tests/client/near_coherence_writer.h"

ABSL_FLAG(std::string, role, "reader", "writer, reader or probe");
ABSL_FLAG(std::vector<std::string>, targets, {"127.0.0.1:50051"}, "larderd addresses");
ABSL_FLAG(std::string, namespace_name, "coherent", "the namespace written and read");
ABSL_FLAG(int, keys, 64, "keys k00 .. k<keys-1>");
ABSL_FLAG(int64_t, start_ns, 0, "CLOCK_MONOTONIC start time; 0 starts at once");
ABSL_FLAG(int64_t, duration_ms, 4000, "how long the role runs");
ABSL_FLAG(std::string, out, "", "where the history lines go (required)");
ABSL_FLAG(int64_t, deadline_ms, 500, "ClientOptions::deadline");
ABSL_FLAG(int64_t, max_reconnect_backoff_ms, 1000, "ClientOptions::max_reconnect_backoff");
ABSL_FLAG(double, write_rate, 10000, "writer: changes per second, at most");
ABSL_FLAG(int, max_in_flight, 64, "writer: asynchronous calls in flight, at most");
ABSL_FLAG(int, delete_percent, 2, "writer: share of Deletes among key changes");
ABSL_FLAG(int, hot_write_keys, 32, "writer: keys k00 .. below this one take most changes");
ABSL_FLAG(int, probe_keys, 2, "the last keys: written on a timer, polled by the probe");
ABSL_FLAG(int64_t, probe_write_every_ms, 5, "writer: period of Sets of a probe key");
ABSL_FLAG(int, cold_write_percent, 1, "writer: share of key changes to the other keys");
ABSL_FLAG(int64_t, invalidate_every_ms, 500, "writer: period of Invalidate by prefix or tag");
ABSL_FLAG(double, read_rate, 20000, "reader: Gets per second, at most");
ABSL_FLAG(int, hot_read_percent, 20, "reader: share of Gets of the --hot_write_keys keys");
ABSL_FLAG(int64_t, keep_values_ms, 0, "reader: serve stale values this long (a broken cache)");
ABSL_FLAG(bool, near, true, "reader, probe: turn the near cache on for --namespace_name");
ABSL_FLAG(int64_t, poll_us, 50, "probe: pause between polls of the probe keys");

namespace larder::testing {
namespace {

absl::StatusOr<std::shared_ptr<Client>> Connect(const std::string& target, bool near) {
  ClientOptions options;
  options.target = target;
  options.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  options.max_reconnect_backoff = absl::Milliseconds(absl::GetFlag(FLAGS_max_reconnect_backoff_ms));
  options.metrics_registry = std::make_shared<prometheus::Registry>();
  if (near) options.near_cache.namespaces = {absl::GetFlag(FLAGS_namespace_name)};
  absl::StatusOr<std::shared_ptr<Client>> client = Client::Create(options);
  if (!client.ok()) return client.status();
  // Connects now, so the run does not pay for the channel's set-up.
  (void)(*client)->Get(absl::GetFlag(FLAGS_namespace_name), "warm-up");
  return client;
}

WriterOptions WriterOptionsFromFlags() {
  WriterOptions options;
  options.namespace_name = absl::GetFlag(FLAGS_namespace_name);
  options.keys = absl::GetFlag(FLAGS_keys);
  options.changes_per_second = absl::GetFlag(FLAGS_write_rate);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.hot_write_keys = absl::GetFlag(FLAGS_hot_write_keys);
  options.cold_write_percent = absl::GetFlag(FLAGS_cold_write_percent);
  options.delete_percent = absl::GetFlag(FLAGS_delete_percent);
  options.probe_keys = absl::GetFlag(FLAGS_probe_keys);
  options.probe_write_every = absl::Milliseconds(absl::GetFlag(FLAGS_probe_write_every_ms));
  options.invalidate_every = absl::Milliseconds(absl::GetFlag(FLAGS_invalidate_every_ms));
  return options;
}

// --- reader and probe -------------------------------------------------------------------------

// Gets `key` and records the read; whether the near cache answered it is read off the client's
// own hit counter (one thread per process, so nothing else moves it).
CoherenceRead TimedGet(Client& client, const std::string& ns, const std::string& key) {
  const prometheus::Counter* hits = client.metrics().near_cache().hits;
  const double hits_before = hits->Value();
  const int64_t start = MonotonicNanos();
  absl::StatusOr<GetResult> got = client.Get(ns, key);
  const int64_t end = MonotonicNanos();
  const bool near = hits->Value() > hits_before;
  using Result = CoherenceRead::Result;
  if (!got.ok()) return CoherenceRead::Other(Result::kError, key, start, end, near);
  if (!got->found) return CoherenceRead::Other(Result::kMiss, key, start, end, near);
  std::optional<int64_t> version = ParseVersionedValue(key, got->value);
  if (!version.has_value()) return CoherenceRead::Other(Result::kCorrupt, key, start, end, near);
  return CoherenceRead::Value(key, start, end, *version, near);
}

// --keep_values_ms: a deliberately incoherent cache in front of the client, which returns the
// first value read of a key for that long whatever changes meanwhile, so that a test can show
// the checker catches a stale cache.
class KeptValues {
 public:
  KeptValues() : keep_ns_(absl::GetFlag(FLAGS_keep_values_ms) * 1'000'000) {}

  std::optional<CoherenceRead> Find(const std::string& key) const {
    auto found = kept_.find(key);
    const int64_t now = MonotonicNanos();
    if (found == kept_.end() || now - found->second.end_ns > keep_ns_) return std::nullopt;
    return CoherenceRead::Value(key, now, now, found->second.version, /*near=*/false);
  }
  void Keep(const CoherenceRead& read) {
    auto found = kept_.find(read.key);
    if (keep_ns_ > 0 && read.result == CoherenceRead::Result::kValue &&
        (found == kept_.end() || read.end_ns - found->second.end_ns > keep_ns_)) {
      kept_[read.key] = read;
    }
  }

 private:
  const int64_t keep_ns_;
  std::map<std::string, CoherenceRead> kept_;
};

std::vector<CoherenceRead> RunReader(Client& client, int64_t start_ns, int64_t end_ns) {
  const std::string ns = absl::GetFlag(FLAGS_namespace_name);
  const int keys = absl::GetFlag(FLAGS_keys);
  const int hot = std::clamp(absl::GetFlag(FLAGS_hot_write_keys), 0, keys - 1);
  absl::InsecureBitGen random;
  KeptValues kept_values;
  Pacer pacer(absl::GetFlag(FLAGS_read_rate), start_ns);
  std::vector<CoherenceRead> reads;
  while (MonotonicNanos() < end_ns) {
    pacer.Wait();
    const bool of_hot = absl::Uniform(random, 0, 100) < absl::GetFlag(FLAGS_hot_read_percent);
    const int key = of_hot ? absl::Uniform(random, 0, hot) : absl::Uniform(random, hot, keys);
    if (std::optional<CoherenceRead> kept = kept_values.Find(CoherenceKey(key))) {
      reads.push_back(*std::move(kept));
      continue;
    }
    reads.push_back(TimedGet(client, ns, CoherenceKey(key)));
    kept_values.Keep(reads.back());
  }
  return reads;
}

struct ProbeRecord {
  std::vector<CoherenceRead> reads;
  std::vector<FirstSighting> sightings;
  int64_t regressions = 0;  // Reads of a lower version than one already seen of the key.
};

ProbeRecord RunProbe(Client& client, int64_t start_ns, int64_t end_ns) {
  const std::string ns = absl::GetFlag(FLAGS_namespace_name);
  const int keys = absl::GetFlag(FLAGS_keys);
  const int probe_keys = std::clamp(absl::GetFlag(FLAGS_probe_keys), 1, keys - 1);
  std::vector<int64_t> newest(static_cast<size_t>(probe_keys), 0);
  ProbeRecord record;
  SleepNanos(start_ns - MonotonicNanos());
  while (MonotonicNanos() < end_ns) {
    for (int key = 0; key < probe_keys; ++key) {
      CoherenceRead read = TimedGet(client, ns, CoherenceKey(keys - probe_keys + key));
      int64_t& seen = newest[static_cast<size_t>(key)];
      if (read.result == CoherenceRead::Result::kValue && read.version > seen) {
        seen = read.version;
        record.sightings.push_back({read.key, read.version, read.end_ns});
      } else if (read.result == CoherenceRead::Result::kValue && read.version < seen) {
        ++record.regressions;
      }
      record.reads.push_back(std::move(read));
    }
    SleepNanos(absl::GetFlag(FLAGS_poll_us) * 1000);
  }
  return record;
}

std::string NearSummary(Client& client, int64_t reads) {
  const NearCacheMetrics& near = client.metrics().near_cache();
  return absl::StrCat("reads=", reads, " near_hits=", near.hits->Value(),
                      " near_misses=", near.misses->Value(), " near_resets=", near.resets->Value(),
                      " refused_installs=", near.refused_installs->Value());
}

template <typename Record>
bool AppendLines(std::string& text, const std::vector<Record>& records) {
  for (const Record& record : records) absl::StrAppend(&text, FormatLine(record), "\n");
  return true;
}

bool WriteOut(const std::string& text) {
  std::ofstream out(absl::GetFlag(FLAGS_out), std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "near_coherence_child: %s\n", message.c_str());
  return 1;
}

int RunRole(const std::string& role, int64_t start_ns, int64_t end_ns) {
  const std::vector<std::string> targets = absl::GetFlag(FLAGS_targets);
  std::vector<std::shared_ptr<Client>> clients;
  for (const std::string& target : role == "writer" ? targets : std::vector{targets.front()}) {
    absl::StatusOr<std::shared_ptr<Client>> client =
        Connect(target, role != "writer" && absl::GetFlag(FLAGS_near));
    if (!client.ok()) return Fail(client.status().ToString());
    clients.push_back(*std::move(client));
  }
  std::string text;
  std::string summary;
  StallWatch stall_watch;
  if (role == "writer") {
    CoherenceWriter writer(clients, WriterOptionsFromFlags());
    writer.Run(start_ns, end_ns);
    AppendLines(text, writer.changes());
    summary = writer.Summary();
  } else if (role == "reader") {
    std::vector<CoherenceRead> reads = RunReader(*clients[0], start_ns, end_ns);
    AppendLines(text, reads);
    summary = absl::StrCat("role=reader ", NearSummary(*clients[0], std::ssize(reads)));
  } else {
    ProbeRecord probe = RunProbe(*clients[0], start_ns, end_ns);
    AppendLines(text, probe.reads);
    AppendLines(text, probe.sightings);
    summary = absl::StrCat("role=probe ", NearSummary(*clients[0], std::ssize(probe.reads)),
                           " regressions=", probe.regressions);
  }
  const std::vector<Stall> stalls = stall_watch.Stop();
  AppendLines(text, stalls);
  int64_t longest_stall = 0;
  for (const Stall& stall : stalls)
    longest_stall = std::max(longest_stall, stall.end_ns - stall.start_ns);
  absl::StrAppend(&summary, " stalls=", stalls.size(),
                  " longest_stall_ms=", longest_stall / 1'000'000);
  if (!WriteOut(text)) return Fail(absl::StrCat("cannot write ", absl::GetFlag(FLAGS_out)));
  std::printf("near_coherence_child %s\n", summary.c_str());
  return 0;
}

}  // namespace
}  // namespace larder::testing

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role != "writer" && role != "reader" && role != "probe") {
    return larder::testing::Fail(absl::StrCat("unknown --role=", role));
  }
  if (absl::GetFlag(FLAGS_out).empty() || absl::GetFlag(FLAGS_targets).empty()) {
    return larder::testing::Fail("--out and --targets are required");
  }
  // Short sleeps (the pacers, the probe) wake within a microsecond or so, not the default 50.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  const int64_t start_flag = absl::GetFlag(FLAGS_start_ns);
  const int64_t start_ns = start_flag > 0 ? start_flag : larder::testing::MonotonicNanos();
  const int64_t end_ns = start_ns + absl::GetFlag(FLAGS_duration_ms) * 1'000'000;
  return larder::testing::RunRole(role, start_ns, end_ns);
}

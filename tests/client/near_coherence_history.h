// The near-cache coherence end-to-end tests (near_coherence_e2e_test.cc): what the child
// processes (near_coherence_child.cc) record — the writer's acknowledged changes, the readers'
// reads, the probe's first sightings of each version, each process's stalls — as one text line
// each, and the checker of the rule the near cache must uphold: a read that starts more than δ
// after a change of its key was acknowledged never returns a value that change made old (time
// in which the reading process was stalled, and so could not apply Watch events, is not
// counted in δ).
//
//   std::vector<CoherenceChange> changes = {CoherenceChange::Write("k01", 7, sent, acked)};
//   std::vector<CoherenceRead> reads = {CoherenceRead::Value("k01", start, end, 6, true)};
//   CoherenceReport report = CheckCoherence(changes, reads, absl::Milliseconds(100));
//   // one violation when start > acked + 100 ms: version 6 read after version 7 was acknowledged
//
// Values are "<key>:<version>"; each key's versions increase from 1 and are never reused. Times
// are CLOCK_MONOTONIC nanoseconds (MonotonicNanos), which every process of a Linux host shares.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::testing {

// CLOCK_MONOTONIC in nanoseconds.
int64_t MonotonicNanos();

// The value the writer stores for version `version` of `key`, and its inverse: nullopt when
// `value` is not "<key>:<positive version>".
std::string VersionedValue(absl::string_view key, int64_t version);
std::optional<int64_t> ParseVersionedValue(absl::string_view key, absl::string_view value);

// One change the writer made to one key. A removal covering several keys (Invalidate by prefix
// or tag) is one record per key.
struct CoherenceChange {
  enum class Kind {
    kWrite,        // Set of `version`, acknowledged.
    kFailedWrite,  // Set of `version` that failed: it may or may not have been (or be) applied.
    kDelete,       // Delete, acknowledged.
    kPrefix,       // Invalidate by prefix, acknowledged.
    kTag,          // Invalidate by tag, acknowledged.
  };

  static CoherenceChange Write(std::string key, int64_t version, int64_t sent_ns, int64_t ack_ns);
  static CoherenceChange FailedWrite(std::string key, int64_t version, int64_t sent_ns);
  // `floor`: the highest version of `key` acknowledged before the removal was sent; the removal
  // makes every version up to it old.
  static CoherenceChange Removal(Kind kind, std::string key, int64_t floor, int64_t sent_ns,
                                 int64_t ack_ns);

  bool acknowledged() const { return kind != Kind::kFailedWrite; }
  // Versions below this one are old once the change is acknowledged (0: none).
  int64_t obsoletes_below() const;

  Kind kind = Kind::kWrite;
  std::string key;
  int64_t version = 0;  // Writes: the version written; removals: the floor.
  int64_t sent_ns = 0;
  int64_t ack_ns = 0;  // 0 for kFailedWrite.
};

// One Get of a reader or probe.
struct CoherenceRead {
  enum class Result {
    kValue,    // Found "<key>:<version>".
    kMiss,     // Not found.
    kError,    // The call failed.
    kCorrupt,  // Found something that is not a value of this key.
  };

  static CoherenceRead Value(std::string key, int64_t start_ns, int64_t end_ns, int64_t version,
                             bool near);
  static CoherenceRead Other(Result result, std::string key, int64_t start_ns, int64_t end_ns,
                             bool near);

  Result result = Result::kMiss;
  std::string key;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t version = 0;  // kValue only.
  bool near = false;    // Answered from the near cache (the process's hit counter moved).
};

// The probe's first read of `version` of `key` (its end time).
struct FirstSighting {
  std::string key;
  int64_t version = 0;
  int64_t seen_ns = 0;
};

// A time in which a child's stall watch (a thread waking every millisecond) did not run: the
// process was starved of CPU (or stopped), so it could not apply Watch events either.
struct Stall {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

// Records the stalls of the calling process while it runs: a thread sleeps a millisecond at a
// time and notes every wake-up more than `threshold` late (costs about 1% of a core).
//
//   StallWatch watch;                        // watching from here
//   ... the run ...
//   std::vector<Stall> stalls = watch.Stop();
class StallWatch {
 public:
  explicit StallWatch(absl::Duration threshold = absl::Milliseconds(10));
  ~StallWatch();  // Stops.
  StallWatch(const StallWatch&) = delete;
  StallWatch& operator=(const StallWatch&) = delete;

  // Ends the watch (once) and returns the stalls seen.
  std::vector<Stall> Stop();

 private:
  void Watch();

  const int64_t threshold_ns_;
  std::atomic<bool> stopping_{false};
  std::vector<Stall> stalls_;  // Written by the thread only, read after it is joined.
  std::thread thread_;
};

// Lines: "W key version sent ack", "F key version sent", "D|P|T key floor sent ack",
// "R key start end v|m|e|c version 0|1", "S key version seen", "G start end". Keys hold no
// spaces.
std::string FormatLine(const CoherenceChange& change);
std::string FormatLine(const CoherenceRead& read);
std::string FormatLine(const FirstSighting& sighting);
std::string FormatLine(const Stall& stall);

// Everything one or more children recorded.
struct CoherenceHistory {
  std::vector<CoherenceChange> changes;
  std::vector<CoherenceRead> reads;
  std::vector<FirstSighting> sightings;
  std::vector<Stall> stalls;
};

// Adds the lines of `text` to `history`. kDataLoss naming the line when one does not parse.
absl::Status ParseHistory(absl::string_view text, CoherenceHistory& history);
// ParseHistory of a file's contents; kNotFound when it cannot be read.
absl::Status ReadHistoryFile(const std::string& path, CoherenceHistory& history);

// A read that broke the rule, and why.
struct Violation {
  CoherenceRead read;
  std::string why;
  int64_t lag_ns = 0;      // For an old value: read start - acknowledgement of the first change
                           // that made it old.
  int64_t stalled_ns = 0;  // How much of that time the reading process was stalled.
};

struct CoherenceReport {
  int64_t reads = 0;
  int64_t values = 0;  // Reads that returned a value, all checked.
  int64_t misses = 0;
  int64_t errors = 0;
  int64_t near = 0;  // Reads answered from the near cache.
  // Values of a write that failed: such a Set may be applied at any time (a retried attempt
  // may land after a later write), so nothing says when they are old. Not checked for age.
  int64_t unacknowledged_values = 0;
  // The staleness lag of every value read that a change acknowledged before the read started
  // had made old (read start - acknowledgement of the first such change), within δ or not.
  std::vector<int64_t> lags_ns;
  // Old values read more than δ after they became old, but not when the time the reading
  // process was stalled meanwhile is taken off: a process that does not run cannot apply the
  // Watch events that reached it. Reported, not violations.
  int64_t excused_by_stalls = 0;
  std::vector<Violation> violations;

  // Adds the counts, lags and violations of `other` (another process's reads) to these.
  void Add(const CoherenceReport& other);
};

// Checks every read of `reads` (of one process, whose `stalls` they are) against `changes`. A
// violation is a value that is corrupt (not "<key>:<version>"), of a version never sent, or
// old: some acknowledged change of its key with obsoletes_below() > version was acknowledged
// more than `delta` of the process's running time before the read started (the time between
// that acknowledgement and the read's start, less the stalls within it). Misses and errors
// never are. O((changes + reads) log changes + stalls * old reads).
CoherenceReport CheckCoherence(const std::vector<CoherenceChange>& changes,
                               const std::vector<CoherenceRead>& reads, absl::Duration delta,
                               const std::vector<Stall>& stalls = {});

// first-seen - acknowledgement for every sighting of an acknowledged write (negative when the
// probe read the version before the writer heard its acknowledgement). O(n log n).
std::vector<int64_t> PropagationDelays(const std::vector<CoherenceChange>& changes,
                                       const std::vector<FirstSighting>& sightings);

struct LatencySummary {
  int64_t count = 0;
  absl::Duration p50;
  absl::Duration p99;
  absl::Duration max;
};
// Nearest-rank percentiles of nanosecond samples; all zero when there are none.
LatencySummary Summarize(std::vector<int64_t> samples_ns);
// "p50 1.2ms p99 4ms max 9ms (n=1234)".
std::string FormatSummary(const LatencySummary& summary);

}  // namespace larder::testing

// How long a write takes to reach another client's near cache: one writer client (no near
// cache) sets `keys` keys round-robin at `rate` writes per second, open loop, each value carrying
// its sequence number; one reader client (near cache on the namespace) reads those keys in a
// tight loop on its own thread. A write's propagation delay is the time the reader first read
// its value, or a later value of its key, minus the time the writer's Set was acknowledged
// (from then on the reader never returns an older value): both clients live in this process
// and both times come from std::chrono::steady_clock, so no clock is compared across processes.
// It covers larderd's Watch event reaching the reader, the invalidation, the reader's next poll
// of the key and the Get to larderd that fetches the new value.
//
//   PropagationOptions options;
//   options.target = "127.0.0.1:7400";
//   options.rate = 1000;
//   absl::StatusOr<PropagationResult> got = MeasurePropagation(options);   // got->p99_us
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace larder::bench {

struct PropagationOptions {
  std::string target = "127.0.0.1:50051";
  std::string ns = "near";
  int keys = 8;
  int value_bytes = 1024;
  double rate = 1000;  // Writes per second.
  absl::Duration duration = absl::Seconds(5);
  // Writes not yet acknowledged, at most: past it the writer waits (and falls behind `rate`).
  int max_inflight = 256;
};

struct PropagationResult {
  int64_t writes = 0;        // Sent.
  int64_t write_errors = 0;  // Acknowledged with an error.
  double write_seconds = 0;  // From the first write sent to the last sent.
  // Acknowledged writes the reader reached: it read their value or a later one of their key.
  // A write's delay ends there: from then on the reader never returns an older value.
  int64_t reached = 0;
  // Of those, writes whose own value the reader never read: the next write of their key came
  // first (informational).
  int64_t superseded = 0;
  // Writes reached before their Set's acknowledgement got to the writer (counted as 0 delay).
  int64_t reached_before_ack = 0;
  // Keys whose last acknowledged value the reader had still not read at the end: a coherence
  // failure if the Watch stream was live (expected 0).
  int64_t stale_at_end = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
  int64_t reader_gets = 0;
  int64_t reader_near_hits = 0;
  int64_t reader_errors = 0;
  // The reader's Gets that the near cache did not answer (the first after an invalidation, and
  // any whose answer an invalidation overtook): their latency, a part of each delay.
  double refetch_p50_us = 0;
  double refetch_p99_us = 0;
};

// kFailedPrecondition when the reader's near cache never serves a key (no live Watch stream);
// the clients' errors otherwise.
absl::StatusOr<PropagationResult> MeasurePropagation(const PropagationOptions& options);

}  // namespace larder::bench

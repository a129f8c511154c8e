// The CPU cost of one near-cache hit, at three depths, for callgrind to count: each measurement
// warms up, then runs `ops` hits of one 1 KiB entry between two CALLGRIND_TOGGLE_COLLECT
// requests, so a run under `valgrind --tool=callgrind --collect-atstart=no` counts exactly those
// hits, on the calling thread only (bench/near_bench.sh divides the total by `ops`). Without
// valgrind the toggles do nothing and the same code runs natively.
//
//   CostOptions options;
//   options.target = "127.0.0.1:7400";
//   absl::StatusOr<CostResult> got = MeasureCost(CostMode::kClientGet, options);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace larder::bench {

enum class CostMode {
  kLookup,       // NearCache::Lookup alone (client/src/near_cache.h), into a reused GetResult.
  kLookupFresh,  // The same into a new GetResult each time, destroyed after (as NearCall does).
  kClientGet,    // larder::Client::Get of a near-cached namespace (a real larderd, a live Watch).
  kStoreLookup,  // The HTTP layer's LarderResponseStore::Lookup of a 1 KiB-body record: Get,
                 // then the record decoded and checked (what HttpCache does on each hit).
};

struct CostOptions {
  // larderd (memory engine) for kClientGet and kStoreLookup; unused by the kLookup modes.
  std::string target = "127.0.0.1:50051";
  std::string ns = "near";
  std::string key = "bench:near:1";
  int value_bytes = 1024;  // The value (kStoreLookup: the response body).
  int64_t ops = 10000;     // Counted hits.
  int64_t warmup_ops = 2000;
};

struct CostResult {
  int64_t ops = 0;
  // Near-cache hits counted by the client's metrics during the counted hits: equal to ops.
  int64_t near_hits = 0;
  int64_t value_bytes = 0;  // Bytes of the value each hit returned.
};

// kFailedPrecondition when the entry is never served near within 10 s (no Watch stream) or a
// counted call was not a near hit; the client's error otherwise.
absl::StatusOr<CostResult> MeasureCost(CostMode mode, const CostOptions& options);

}  // namespace larder::bench

// Replays a Trace, cache-aside (read; on a miss, store), through the memory engine's real
// S3-FIFO (larder::storage::MemoryEngine, driven directly) or through a plain LRU, with the
// same byte budget and the same per-entry charge, and reports the hit ratio.
//
//   SimConfig config{.value_size = 1024, .cache_fraction = 0.10, .shards = 16};
//   absl::StatusOr<SimResult> s3 = SimulateMemoryEngine(trace, config);
//   SimResult lru = SimulateLru(trace, config);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "bench/eviction_sim/traces.h"

namespace larder::bench {

struct SimConfig {
  size_t value_size = 1024;     // Bytes per value.
  double cache_fraction = 0.1;  // Budget as a share of the bytes of the trace's distinct data.
  int shards = 16;              // Memory engine shards (larderd's default).
};

struct SimResult {
  double hit_ratio = 0;
  int64_t hits = 0;
  int64_t requests = 0;
  int64_t evictions = 0;
  int64_t budget_bytes = 0;
  int shards = 1;
};

// Bytes the memory engine charges one entry of this benchmark (key:%012d, a strong ETag).
int64_t EntryCharge(size_t value_size);

// The budget in bytes for `trace` under `config`.
int64_t BudgetFor(const Trace& trace, const SimConfig& config);

absl::StatusOr<SimResult> SimulateMemoryEngine(const Trace& trace, const SimConfig& config);
SimResult SimulateLru(const Trace& trace, const SimConfig& config);

}  // namespace larder::bench

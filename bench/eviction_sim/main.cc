// larder_eviction_sim: hit ratios of the memory engine's S3-FIFO against a plain LRU on
// synthetic traces (Zipf, Zipf with scans, a loop larger than the cache), each cache given the
// same share of the trace's distinct data. Prints a table, or one JSON line per trace (--json).
//
//   larder_eviction_sim --keys=100000 --requests=2000000 --cache-fraction=0.1
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "bench/common/dash_flags.h"
#include "bench/eviction_sim/simulate.h"
#include "bench/eviction_sim/traces.h"

ABSL_FLAG(int64_t, keys, 100000, "distinct hot keys of each trace");
ABSL_FLAG(int64_t, requests, 2000000, "requests per trace");
ABSL_FLAG(int, value_size, 1024, "bytes per value");
ABSL_FLAG(double, cache_fraction, 0.10, "budget as a share of the trace's distinct data");
ABSL_FLAG(int, shards, 16, "memory engine shards (larderd's default is 16)");
ABSL_FLAG(double, zipf_s, 0.99, "Zipf exponent");
ABSL_FLAG(int64_t, scan_block, 20000, "scan mix: Zipf requests between two scans");
ABSL_FLAG(int64_t, scan_length, 10000, "scan mix: cold keys per scan");
ABSL_FLAG(bool, json, false, "print one JSON line per trace instead of a table");

namespace larder::bench {
namespace {

struct Row {
  std::string trace;
  uint64_t distinct;
  SimResult s3fifo;
  SimResult lru;
};

void PrintTable(const std::vector<Row>& rows, const SimConfig& config) {
  std::printf("cache = %.0f%% of each trace's distinct data; entry charge %lld B; %d shards\n",
              config.cache_fraction * 100, static_cast<long long>(EntryCharge(config.value_size)),
              rows.empty() ? 0 : rows.front().s3fifo.shards);
  std::printf("%-18s %10s %10s %12s %12s %10s %8s\n", "trace", "requests", "distinct", "budget(B)",
              "S3-FIFO hit%", "LRU hit%", "points");
  for (const Row& row : rows) {
    std::printf("%-18s %10lld %10llu %12lld %12.2f %10.2f %+8.2f\n", row.trace.c_str(),
                static_cast<long long>(row.s3fifo.requests),
                static_cast<unsigned long long>(row.distinct),
                static_cast<long long>(row.s3fifo.budget_bytes), row.s3fifo.hit_ratio * 100,
                row.lru.hit_ratio * 100, (row.s3fifo.hit_ratio - row.lru.hit_ratio) * 100);
  }
}

void PrintJson(const std::vector<Row>& rows, const SimConfig& config) {
  for (const Row& row : rows) {
    std::cout << absl::StrFormat(
                     "{\"trace\":\"%s\",\"requests\":%d,\"distinct\":%d,\"budget_bytes\":%d,"
                     "\"cache_fraction\":%g,\"shards\":%d,\"s3fifo_hit_ratio\":%.6f,"
                     "\"lru_hit_ratio\":%.6f,\"s3fifo_evictions\":%d,\"lru_evictions\":%d}",
                     row.trace, row.s3fifo.requests, row.distinct, row.s3fifo.budget_bytes,
                     config.cache_fraction, row.s3fifo.shards, row.s3fifo.hit_ratio,
                     row.lru.hit_ratio, row.s3fifo.evictions, row.lru.evictions)
              << "\n";
  }
}

int Main() {
  const SimConfig config{static_cast<size_t>(absl::GetFlag(FLAGS_value_size)),
                         absl::GetFlag(FLAGS_cache_fraction), absl::GetFlag(FLAGS_shards)};
  const auto keys = static_cast<uint64_t>(absl::GetFlag(FLAGS_keys));
  const auto requests = static_cast<uint64_t>(absl::GetFlag(FLAGS_requests));
  const double s = absl::GetFlag(FLAGS_zipf_s);
  const std::vector<std::function<Trace()>> makers = {
      [&] { return MakeZipfTrace(keys, requests, s); },
      [&] {
        return MakeScanMixTrace(keys, requests, s,
                                static_cast<uint64_t>(absl::GetFlag(FLAGS_scan_block)),
                                static_cast<uint64_t>(absl::GetFlag(FLAGS_scan_length)));
      },
      [&] { return MakeLoopTrace(keys, requests); }};
  std::vector<Row> rows;
  for (const auto& make : makers) {
    const Trace trace = make();
    absl::StatusOr<SimResult> s3fifo = SimulateMemoryEngine(trace, config);
    if (!s3fifo.ok()) {
      std::cerr << "larder_eviction_sim: " << s3fifo.status() << std::endl;
      return 1;
    }
    rows.push_back(Row{trace.name, trace.distinct, *s3fifo, SimulateLru(trace, config)});
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(rows, config);
  } else {
    PrintTable(rows, config);
  }
  return 0;
}

}  // namespace
}  // namespace larder::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Hit ratio of the memory engine's S3-FIFO against a plain LRU.");
  larder::bench::DashesToUnderscores(argc, argv);
  absl::ParseCommandLine(argc, argv);
  return larder::bench::Main();
}

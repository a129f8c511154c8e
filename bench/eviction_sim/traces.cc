#include "bench/eviction_sim/traces.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "bench/common/key_space.h"

namespace larder::bench {

Trace MakeZipfTrace(uint64_t keys, uint64_t requests, double s) {
  Trace trace{absl::StrFormat("zipf(%.2f)", s), {}, 0};
  const KeyChooser chooser(keys, Distribution::kZipf, s);
  std::mt19937_64 rng(7);
  std::vector<bool> seen(keys);
  trace.ids.reserve(requests);
  for (uint64_t i = 0; i < requests; ++i) {
    const uint64_t id = chooser.Next(rng);
    trace.ids.push_back(id);
    if (!seen[id]) ++trace.distinct;
    seen[id] = true;
  }
  return trace;
}

Trace MakeScanMixTrace(uint64_t keys, uint64_t requests, double s, uint64_t zipf_block,
                       uint64_t scan_length) {
  Trace trace{absl::StrFormat("zipf(%.2f)+scans", s), {}, 0};
  const KeyChooser chooser(keys, Distribution::kZipf, s);
  std::mt19937_64 rng(11);
  std::vector<bool> seen(keys);
  uint64_t next_cold = keys;
  trace.ids.reserve(requests);
  while (trace.ids.size() < requests) {
    for (uint64_t i = 0; i < zipf_block && trace.ids.size() < requests; ++i) {
      const uint64_t id = chooser.Next(rng);
      trace.ids.push_back(id);
      if (!seen[id]) ++trace.distinct;
      seen[id] = true;
    }
    for (uint64_t i = 0; i < scan_length && trace.ids.size() < requests; ++i) {
      trace.ids.push_back(next_cold++);
      ++trace.distinct;
    }
  }
  return trace;
}

Trace MakeLoopTrace(uint64_t keys, uint64_t requests) {
  Trace trace{"loop", {}, std::min(keys, requests)};
  trace.ids.reserve(requests);
  for (uint64_t i = 0; i < requests; ++i) trace.ids.push_back(i % keys);
  return trace;
}

}  // namespace larder::bench

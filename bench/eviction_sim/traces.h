// Synthetic key traces for the eviction simulator, each a sequence of key ids:
//   Zipf(s)   keys drawn from a Zipf law over `keys` ids (the usual cache workload);
//   scan mix  the same Zipf traffic interrupted by long sequential scans of cold keys that are
//             read once each (a backup job or a report), the classic way to flush an LRU;
//   loop      every key in turn, over and over: a working set larger than the cache.
//
//   Trace trace = MakeZipfTrace(/*keys=*/100000, /*requests=*/2000000, /*s=*/0.99);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace larder::bench {

struct Trace {
  std::string name;
  std::vector<uint64_t> ids;  // Requested key ids, in order.
  uint64_t distinct = 0;      // Distinct ids in `ids`.
};

Trace MakeZipfTrace(uint64_t keys, uint64_t requests, double s);

// Blocks of `zipf_block` Zipf requests over [0, keys), each followed by a scan of `scan_length`
// cold ids (from `keys` up, never repeated) until `requests` ids in all.
Trace MakeScanMixTrace(uint64_t keys, uint64_t requests, double s, uint64_t zipf_block,
                       uint64_t scan_length);

// 0, 1, ..., keys - 1, 0, 1, ... until `requests` ids in all.
Trace MakeLoopTrace(uint64_t keys, uint64_t requests);

}  // namespace larder::bench

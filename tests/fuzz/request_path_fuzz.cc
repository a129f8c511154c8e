// libFuzzer target for larderd's request path: larder.v1 requests of every RPC, decoded from the
// input, validated and executed by CacheHandler (server/service/cache_handler.h) on the memory
// engine with a tiny budget and a FakeClock the input moves. A fresh engine and handler per
// input, so every run reproduces. Checked against the reference model of request_path_model.h.
//
// Input: one config byte (bit 0: --default-ttl 30s, bit 1: --max-ttl 1h, bit 2:
// --max-response-bytes 2 KiB instead of 64 KiB, bit 3: two tracked namespaces instead of
// 10,000), then records [selector][length, 2 bytes big-endian][length bytes]. Selector % 11 picks
// Get, Set, Delete, Touch, MultiGet, MultiSet, Invalidate, Stats (the bytes are the request,
// ParseFromArray'd), or: advance the clock by length * 10 ms, sweep expired entries, forget idle
// namespaces (up to length); those three take no bytes. Inputs over 4096 bytes are skipped: the
// budget below is sized so that every entry such an input can write fits a shard alone.
//
// Aborts when:
//  - a call fails with other than INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for MultiGet), or an
//    INVALID_ARGUMENT does not name its field ("keys[3]: ..."), or changes anything: Stats,
//    the engine's charged bytes and tables, hit and miss counts;
//  - a namespace or key outside its documented limits is accepted, or a valid one refused;
//  - a read returns an entry that is not the last one stored there (value, ETag, remaining TTL
//    to the nanosecond), or one deleted, invalidated, expired or never stored; or misses an
//    entry though nothing was evicted since it was stored (this covers a Get right after a Set);
//  - If-None-Match, if_absent, if_match, Delete, Touch or Invalidate counts decide otherwise than
//    the model allows; a stored Set answers another ETag than StrongEtagFor(value);
//  - a MultiGet response is larger than --max-response-bytes, or is refused while the size the
//    handler names is within the limit or below the real size;
//  - Stats: hits and misses differ from the reads made, entries and bytes fall outside what the
//    model allows, evictions or expirations go down, the namespaces do not add up to the total;
//  - a shard charges more than its budget, or less than Stats' bytes plus the per-entry overhead.
//
//   build-fuzz/tests/fuzz/request_path_fuzz tests/fuzz/corpus/request_path_fuzz \
//       -dict=tests/fuzz/request_path_fuzz.dict
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "tests/fuzz/request_path_harness.h"

namespace {

// Inputs over this are skipped: the engine's budget (request_path_harness.h) is sized so that
// every entry such an input can write fits a shard alone.
constexpr size_t kMaxInputBytes = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kMaxInputBytes) return 0;
  larder::fuzz::RequestPathHarness harness(data[0]);
  size_t at = 1;
  while (at + 3 <= size) {
    const uint8_t selector = data[at];
    const uint16_t length = static_cast<uint16_t>(data[at + 1] << 8 | data[at + 2]);
    at += 3;
    const size_t take = larder::fuzz::RequestPathHarness::TakesBytes(selector)
                            ? std::min<size_t>(length, size - at)
                            : 0;
    harness.Run(selector, length,
                absl::string_view(reinterpret_cast<const char*>(data) + at, take));
    harness.CheckEngine();
    at += take;
  }
  return 0;
}

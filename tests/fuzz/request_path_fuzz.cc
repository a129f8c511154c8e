// libFuzzer target for larderd's request path: larder.v1 requests of every RPC, decoded from the
// input, validated and executed by CacheHandler (server/service/cache_handler.h) on the memory
// engine with a tiny budget and a FakeClock the input moves. A fresh engine and handler per
// input, so every run reproduces. Checked against the reference model of request_path_model.h.
//
// Input: one config byte (bit 0: --default-ttl 30s, bit 1: --max-ttl 1h, bit 2:
// --max-response-bytes 2 KiB instead of 64 KiB, bit 3: two tracked namespaces instead of
// 10,000, bit 4: one shard of 256 KiB instead of two of 16 KiB), then records [selector][length, 2
// bytes big-endian][length bytes]. Selector % 11 picks Get, Set, Delete, Touch, MultiGet, MultiSet,
// Invalidate, Stats (the bytes are the request, ParseFromArray'd), or: advance the clock by length
// * 10 ms, sweep expired entries, forget idle namespaces (up to length); those three take no bytes.
// Inputs over 4096 bytes are skipped: the budget below is sized so that every entry such an input
// can write fits a shard alone.
//
// A custom mutator keeps the framing: it mutates one record's request bytes (and fixes its
// length), duplicates, drops or swaps records, or changes a selector, a length or the config; a
// quarter of the time it mutates the raw input as libFuzzer would.
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
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "tests/fuzz/request_path_harness.h"

// libFuzzer's own mutators, for the custom mutator below.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// Inputs over this are skipped: the engine's budget (request_path_harness.h) is sized so that
// every entry such an input can write fits a shard alone.
constexpr size_t kMaxInputBytes = 4096;

using larder::fuzz::RequestPathHarness;

struct Record {
  uint8_t selector = 0;
  uint16_t length = 0;  // For records without bytes: the clock step or forget budget.
  std::string bytes;
};

// The config byte and the records of `data`, as LLVMFuzzerTestOneInput reads them.
std::pair<uint8_t, std::vector<Record>> Split(const uint8_t* data, size_t size) {
  std::vector<Record> records;
  size_t at = 1;
  while (at + 3 <= size) {
    Record record{data[at], static_cast<uint16_t>(data[at + 1] << 8 | data[at + 2]), ""};
    at += 3;
    if (RequestPathHarness::TakesBytes(record.selector)) {
      const size_t take = std::min<size_t>(record.length, size - at);
      record.bytes.assign(reinterpret_cast<const char*>(data) + at, take);
      at += take;
    }
    records.push_back(std::move(record));
  }
  return {size == 0 ? 0 : data[0], std::move(records)};
}

// Writes the input back into `data`, dropping the last records when it would pass `max_size`.
size_t Join(uint8_t config, const std::vector<Record>& records, uint8_t* data, size_t max_size) {
  std::string out(1, static_cast<char>(config));
  for (const Record& record : records) {
    const bool takes = RequestPathHarness::TakesBytes(record.selector);
    const size_t length = takes ? record.bytes.size() : record.length;
    if (out.size() + 3 + (takes ? length : 0) > max_size || length > 0xffff) break;
    out.push_back(static_cast<char>(record.selector));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
    if (takes) out += record.bytes;
  }
  const size_t size = std::min(out.size(), max_size);
  std::memcpy(data, out.data(), size);
  return size;
}

// Mutates one record's request bytes with libFuzzer's own mutators.
void MutateBytes(Record& record, size_t room) {
  std::string& bytes = record.bytes;
  const size_t size = bytes.size();
  bytes.resize(size + room);
  bytes.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(bytes.data()), size, size + room));
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::minstd_rand random(seed);
  auto [config, records] = Split(data, size);
  const unsigned choice = random() % 16;
  if (choice < 4 || records.empty()) return LLVMFuzzerMutate(data, size, max_size);
  const size_t room = max_size > size ? max_size - size : 0;
  Record& some = records[random() % records.size()];
  if (choice < 10) {
    MutateBytes(some, std::min<size_t>(room, 64));
  } else if (choice < 12) {
    records.insert(records.begin() + random() % (records.size() + 1), Record(some));
  } else if (choice < 13) {
    records.erase(records.begin() + random() % records.size());
  } else if (choice < 14) {
    std::swap(some, records[random() % records.size()]);
  } else if (choice < 15) {
    some.selector = static_cast<uint8_t>(random());
    some.length = static_cast<uint16_t>(random() % 1000);
  } else {
    config = static_cast<uint8_t>(random());
  }
  return Join(config, records, data, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kMaxInputBytes) return 0;
  RequestPathHarness harness(data[0]);
  size_t at = 1;
  while (at + 3 <= size) {
    const uint8_t selector = data[at];
    const uint16_t length = static_cast<uint16_t>(data[at + 1] << 8 | data[at + 2]);
    at += 3;
    const size_t take =
        RequestPathHarness::TakesBytes(selector) ? std::min<size_t>(length, size - at) : 0;
    harness.Run(selector, length,
                absl::string_view(reinterpret_cast<const char*>(data) + at, take));
    harness.CheckEngine();
    at += take;
  }
  return 0;
}

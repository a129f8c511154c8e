// LoadOptions: what one loadgen run does, filled from flags in main.cc. Driver: the interface
// the gRPC (larderd) and RESP (redis-server) clients implement, so both servers see the same
// keys, values, mix, concurrency and pacing, and are measured the same way.
//
//   std::unique_ptr<Driver> driver = ...;   // GrpcDriver::Create or RedisDriver::Create
//   driver->Preload();
//   absl::StatusOr<PhaseResult> result = driver->RunPhase(phase, histogram);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/common/key_space.h"
#include "bench/common/latency_histogram.h"

namespace larder::bench {

enum class Protocol { kGrpc, kH2, kRedis };  // kH2: gRPC over hand-framed HTTP/2.
enum class Operation { kGet, kMultiGet };

struct LoadOptions {
  Protocol protocol = Protocol::kGrpc;
  std::string target = "127.0.0.1:50051";  // host:port, loopback only.
  std::string ns = "bench";                // larder namespace (unused for Redis).
  int channels = 4;   // gRPC channels, each its own TCP connection. Redis: one per in-flight.
  int inflight = 50;  // Requests outstanding at once (the most, in open loop).
  Operation operation = Operation::kGet;
  int batch = 16;            // Keys per MultiGet / MGET.
  double read_ratio = 1.0;   // Share of operations that read; the rest are single-key writes.
  size_t value_size = 1024;  // Bytes per value.
  uint64_t keys = 100000;    // Key ids [0, keys) are read and written.
  Distribution distribution = Distribution::kUniform;
  double zipf_s = 0.99;
  uint64_t preload_keys = 0;  // Key ids [0, preload_keys) are stored before the run.
  int preload_batch = 256;    // Entries per MultiSet / MSET while preloading.
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(10);
  int64_t max_ops = 0;  // Bound on measured operations; 0: only the duration bounds the run.
  double rate = 0;      // Operations per second (open loop); 0: closed loop.
  absl::Duration timeout = absl::Seconds(10);  // Per-request deadline.
  std::vector<int> server_pids;                // Processes whose CPU the run is charged.
};

// One phase of load: warm-up (not recorded) or measurement.
struct PhaseSpec {
  absl::Duration duration;
  int64_t max_ops = 0;  // 0: unbounded by count.
  double rate = 0;      // 0: closed loop.
  bool record = true;
};

struct PhaseResult {
  int64_t ops = 0;     // Completed operations (recorded ones only).
  int64_t keys = 0;    // Keys they read or wrote.
  int64_t errors = 0;  // Operations that failed (status or protocol error, timeout).
  int64_t misses = 0;  // Keys read and not found.
  double seconds = 0;  // From the first request to the last reply.
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Stores key ids [0, preload_keys) with their values.
  virtual absl::Status Preload() = 0;
  // Runs one phase; latencies of recorded operations go to `histogram`.
  virtual absl::StatusOr<PhaseResult> RunPhase(const PhaseSpec& phase,
                                               LatencyHistogram& histogram) = 0;
};

// Nanoseconds on the steady clock.
int64_t NowNanos();

// "grpc", "h2" or "redis", as --protocol spells it.
const char* ProtocolName(Protocol protocol);

}  // namespace larder::bench

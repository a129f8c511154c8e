// RedisDriver: drives redis-server over RESP with the same keys, values, mix and pacing as
// GrpcDriver drives larderd: one connection per in-flight request (like redis-benchmark -c),
// GET / SET / MGET of `batch` keys, closed or open loop, on one epoll thread. Used to preload
// Redis identically and to measure its latency at a fixed rate (redis-benchmark cannot pace).
//
//   auto driver = RedisDriver::Create(options);   // options.inflight connections
//   auto result = (*driver)->RunPhase({absl::Seconds(10), 0, /*rate=*/20000}, histogram);
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/load_options.h"
#include "bench/loadgen/phase_loop.h"
#include "bench/loadgen/resp.h"

namespace larder::bench {

class RedisDriver final : public Driver {
 public:
  // kUnavailable when a connection cannot be made.
  static absl::StatusOr<std::unique_ptr<RedisDriver>> Create(const LoadOptions& options);
  ~RedisDriver() override;

  absl::Status Preload() override;
  absl::StatusOr<PhaseResult> RunPhase(const PhaseSpec& phase,
                                       LatencyHistogram& histogram) override;

 private:
  struct Connection {
    int fd = -1;
    std::string in;
    std::string out;
    int64_t start_nanos = 0;
    int64_t keys = 0;
    std::mt19937_64 rng;
  };
  using Loop = PhaseLoop<Connection>;

  explicit RedisDriver(const LoadOptions& options);
  absl::Status Connect(Connection& connection);
  absl::Status RoundTrip(Connection& connection, ReplySummary& summary);
  absl::Status Send(Connection& connection, int64_t start_nanos);
  absl::Status OnReadable(Connection& connection, Loop& loop);
  absl::Status Complete(Connection& connection, const ReplySummary& summary, Loop& loop);

  const LoadOptions options_;
  const KeyChooser chooser_;
  const ValuePool values_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace larder::bench

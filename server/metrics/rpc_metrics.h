// RpcMetrics: request counts by RPC and status code, latency histograms by RPC, and engine
// errors, kept in plain atomics so recording on the hot path takes no lock. The collector
// (server_metrics.h) turns them into Prometheus families at scrape time.
//
//   metrics.Record(Rpc::kGet, absl::StatusCode::kOk, absl::Microseconds(40));
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::server {

enum class Rpc : uint8_t {
  kGet,
  kSet,
  kDelete,
  kTouch,
  kMultiGet,
  kMultiSet,
  kInvalidate,
  kStats,
  kLease,
  kWatch,
  kNamespaces
};
inline constexpr int kRpcCount = 11;
inline constexpr int kStatusCodeCount = 17;  // absl::StatusCode 0..16.

// "Get", "Set", ... as in the larder.v1 service.
absl::string_view RpcName(Rpc rpc);
// "OK", "INVALID_ARGUMENT", ... as gRPC spells them.
absl::string_view StatusCodeName(int code);

// Upper bounds (seconds) of the latency buckets; +Inf is implied.
inline constexpr std::array<double, 14> kLatencyBucketBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

// A latency histogram a scrape can read while requests record into it.
struct LatencySnapshot {
  std::array<uint64_t, kLatencyBucketBounds.size() + 1> bucket_counts{};  // Not cumulative.
  double sum_seconds = 0;
};

// Thread-safe; lock-free.
class RpcMetrics {
 public:
  void Record(Rpc rpc, absl::StatusCode code, absl::Duration latency);
  void RecordEngineError() { engine_errors_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t Count(Rpc rpc, int code) const;
  LatencySnapshot Latency(Rpc rpc) const;
  uint64_t engine_errors() const { return engine_errors_.load(std::memory_order_relaxed); }

 private:
  struct Histogram {
    std::array<std::atomic<uint64_t>, kLatencyBucketBounds.size() + 1> buckets{};
    std::atomic<uint64_t> sum_nanos{0};
  };

  std::array<std::array<std::atomic<uint64_t>, kStatusCodeCount>, kRpcCount> counts_{};
  std::array<Histogram, kRpcCount> latency_{};
  std::atomic<uint64_t> engine_errors_{0};
};

}  // namespace larder::server

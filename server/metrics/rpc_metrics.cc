#include "server/metrics/rpc_metrics.h"

#include <algorithm>

namespace larder::server {

absl::string_view RpcName(Rpc rpc) {
  static constexpr absl::string_view kNames[kRpcCount] = {
      "Get",        "Set",   "Delete", "Touch", "MultiGet",  "MultiSet",
      "Invalidate", "Stats", "Lease",  "Watch", "Namespaces"};
  return kNames[static_cast<int>(rpc)];
}

absl::string_view StatusCodeName(int code) {
  static constexpr absl::string_view kNames[kStatusCodeCount] = {"OK",
                                                                 "CANCELLED",
                                                                 "UNKNOWN",
                                                                 "INVALID_ARGUMENT",
                                                                 "DEADLINE_EXCEEDED",
                                                                 "NOT_FOUND",
                                                                 "ALREADY_EXISTS",
                                                                 "PERMISSION_DENIED",
                                                                 "RESOURCE_EXHAUSTED",
                                                                 "FAILED_PRECONDITION",
                                                                 "ABORTED",
                                                                 "OUT_OF_RANGE",
                                                                 "UNIMPLEMENTED",
                                                                 "INTERNAL",
                                                                 "UNAVAILABLE",
                                                                 "DATA_LOSS",
                                                                 "UNAUTHENTICATED"};
  return code >= 0 && code < kStatusCodeCount ? kNames[code] : "UNKNOWN";
}

void RpcMetrics::Record(Rpc rpc, absl::StatusCode code, absl::Duration latency) {
  int code_index = static_cast<int>(code);
  if (code_index < 0 || code_index >= kStatusCodeCount) code_index = 2;  // UNKNOWN
  const int r = static_cast<int>(rpc);
  counts_[r][code_index].fetch_add(1, std::memory_order_relaxed);
  const double seconds = absl::ToDoubleSeconds(latency);
  const size_t bucket =
      std::lower_bound(kLatencyBucketBounds.begin(), kLatencyBucketBounds.end(), seconds) -
      kLatencyBucketBounds.begin();
  latency_[r].buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_[r].sum_nanos.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(latency)),
                                  std::memory_order_relaxed);
}

uint64_t RpcMetrics::Count(Rpc rpc, int code) const {
  return counts_[static_cast<int>(rpc)][code].load(std::memory_order_relaxed);
}

LatencySnapshot RpcMetrics::Latency(Rpc rpc) const {
  const Histogram& histogram = latency_[static_cast<int>(rpc)];
  LatencySnapshot snapshot;
  for (size_t i = 0; i < snapshot.bucket_counts.size(); ++i) {
    snapshot.bucket_counts[i] = histogram.buckets[i].load(std::memory_order_relaxed);
  }
  snapshot.sum_seconds = histogram.sum_nanos.load(std::memory_order_relaxed) / 1e9;
  return snapshot;
}

}  // namespace larder::server

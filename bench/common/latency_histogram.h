// LatencyHistogram: a log-linear histogram of latencies in nanoseconds (HDR-style: 64 linear
// sub-buckets per power of two, so any percentile is within ~1.6% of the true sample). Record()
// is lock-free and may be called from many threads at once.
//
//   LatencyHistogram histogram;
//   histogram.Record(elapsed_nanos);
//   double p99_us = histogram.PercentileMicros(0.99);
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace larder::bench {

class LatencyHistogram {
 public:
  LatencyHistogram() { Reset(); }
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Thread-safe. Negative values count as zero.
  void Record(int64_t nanos);
  // Not safe concurrently with Record().
  void Reset();

  uint64_t count() const;
  double MaxMicros() const { return static_cast<double>(max_.load()) / 1e3; }
  // The latency at quantile `q` in [0, 1], in microseconds; 0 when empty.
  double PercentileMicros(double q) const;

 private:
  static constexpr int kSubBits = 7;                 // 128 values below the first shift.
  static constexpr int kHalf = 1 << (kSubBits - 1);  // 64 sub-buckets per power of two.
  static constexpr int kBuckets = (1 << kSubBits) + 57 * kHalf;

  static int IndexOf(uint64_t nanos);
  static double MidpointOf(int index);

  std::array<std::atomic<uint64_t>, kBuckets> counts_;
  std::atomic<int64_t> max_{0};
};

}  // namespace larder::bench

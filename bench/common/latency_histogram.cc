#include "bench/common/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace larder::bench {

int LatencyHistogram::IndexOf(uint64_t nanos) {
  if (nanos < (uint64_t{1} << kSubBits)) return static_cast<int>(nanos);
  const int msb = 63 - std::countl_zero(nanos);
  const int shift = msb - kSubBits + 1;  // >= 1; nanos >> shift is in [kHalf, 2 * kHalf).
  const int index =
      (1 << kSubBits) + (shift - 1) * kHalf + static_cast<int>(nanos >> shift) - kHalf;
  return std::min(index, kBuckets - 1);
}

double LatencyHistogram::MidpointOf(int index) {
  if (index < (1 << kSubBits)) return index;
  const int shift = (index - (1 << kSubBits)) / kHalf + 1;
  const uint64_t low = static_cast<uint64_t>((index - (1 << kSubBits)) % kHalf + kHalf) << shift;
  return static_cast<double>(low) + static_cast<double>(uint64_t{1} << shift) / 2;
}

void LatencyHistogram::Record(int64_t nanos) {
  nanos = std::max<int64_t>(nanos, 0);
  counts_[IndexOf(static_cast<uint64_t>(nanos))].fetch_add(1, std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (nanos > seen && !max_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
}

void LatencyHistogram::Reset() {
  for (auto& count : counts_) count.store(0, std::memory_order_relaxed);
  max_.store(0);
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (const auto& count : counts_) total += count.load(std::memory_order_relaxed);
  return total;
}

double LatencyHistogram::PercentileMicros(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  const auto wanted = static_cast<uint64_t>(
      std::max(1.0, std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= wanted) return std::min(MidpointOf(i), static_cast<double>(max_.load())) / 1e3;
  }
  return MaxMicros();
}

}  // namespace larder::bench

// KeySpace: the keys a benchmark touches and how often. Keys are named like redis-benchmark's
// `key:__rand_int__` (`key:` + 12 zero-padded digits) so larderd, Redis and redis-benchmark see
// the same key bytes. A chooser draws key ids uniformly or from a Zipf(s) law; Zipf ranks are
// scattered over the ids by a fixed permutation so hot keys do not sit next to each other.
//
//   larder::bench::KeyChooser chooser(/*keys=*/100000, Distribution::kZipf, /*s=*/0.99);
//   std::mt19937_64 rng(1);
//   std::string key = larder::bench::KeyName(chooser.Next(rng));
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace larder::bench {

enum class Distribution { kUniform, kZipf };

// "uniform" or "zipf"; kInvalidArgument otherwise.
absl::StatusOr<Distribution> ParseDistribution(absl::string_view name);

// "key:000000000042" for id 42 (the form redis-benchmark's -r option produces).
std::string KeyName(uint64_t id);

// Values of one size, a different slice of a random pool for each key id, so values neither
// repeat nor compress (RocksDB compresses its blocks). Immutable after construction.
class ValuePool {
 public:
  explicit ValuePool(size_t value_size);
  absl::string_view ValueFor(uint64_t id) const;
  size_t value_size() const { return value_size_; }

 private:
  size_t value_size_;
  std::string pool_;
};

// Zipf(s) over ranks [0, n): P(rank k) proportional to 1/(k+1)^s. Immutable after
// construction, so one instance may be shared by threads (each with its own engine).
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s);
  uint64_t Next(std::mt19937_64& rng) const;

 private:
  std::vector<double> cdf_;  // cdf_[k] = P(rank <= k).
};

// Draws key ids in [0, keys). Thread-compatible: const after construction.
class KeyChooser {
 public:
  KeyChooser(uint64_t keys, Distribution distribution, double zipf_s);
  uint64_t Next(std::mt19937_64& rng) const;
  uint64_t keys() const { return keys_; }

 private:
  uint64_t keys_;
  Distribution distribution_;
  ZipfSampler zipf_;
  uint64_t multiplier_;  // Coprime with keys_: rank -> (rank * multiplier_) % keys_.
};

}  // namespace larder::bench

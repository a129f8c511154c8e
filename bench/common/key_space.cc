#include "bench/common/key_space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace larder::bench {

absl::StatusOr<Distribution> ParseDistribution(absl::string_view name) {
  if (name == "uniform") return Distribution::kUniform;
  if (name == "zipf") return Distribution::kZipf;
  return absl::InvalidArgumentError(
      absl::StrCat("distribution: want uniform or zipf, got '", name, "'"));
}

std::string KeyName(uint64_t id) {
  char buffer[32];
  const int length =
      std::snprintf(buffer, sizeof(buffer), "key:%012llu", static_cast<unsigned long long>(id));
  return std::string(buffer, static_cast<size_t>(length));
}

ValuePool::ValuePool(size_t value_size) : value_size_(value_size) {
  std::mt19937_64 rng(42);
  pool_.resize(value_size + (size_t{1} << 20));
  for (char& c : pool_) c = static_cast<char>('!' + rng() % 94);
}

absl::string_view ValuePool::ValueFor(uint64_t id) const {
  // Consecutive ids start 7919 bytes apart: neighbours in a RocksDB block share no bytes.
  const size_t offset = (id * 7919) % (pool_.size() - value_size_ + 1);
  return absl::string_view(pool_).substr(offset, value_size_);
}

ZipfSampler::ZipfSampler(uint64_t n, double s) {
  if (n == 0) return;
  cdf_.resize(n);
  double sum = 0;
  for (uint64_t k = 0; k < n; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), s);
    cdf_[k] = sum;
  }
  for (double& p : cdf_) p /= sum;
  cdf_.back() = 1.0;
}

uint64_t ZipfSampler::Next(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<uint64_t>(std::min<ptrdiff_t>(it - cdf_.begin(), cdf_.size() - 1));
}

namespace {

uint64_t CoprimeMultiplier(uint64_t n) {
  uint64_t multiplier = 2654435761u;  // Knuth's multiplicative-hash constant.
  if (n <= 1) return 1;
  while (std::gcd(multiplier, n) != 1) multiplier += 2;
  return multiplier;
}

}  // namespace

KeyChooser::KeyChooser(uint64_t keys, Distribution distribution, double zipf_s)
    : keys_(std::max<uint64_t>(keys, 1)),
      distribution_(distribution),
      zipf_(distribution == Distribution::kZipf ? keys_ : 0, zipf_s),
      multiplier_(CoprimeMultiplier(keys_)) {}

uint64_t KeyChooser::Next(std::mt19937_64& rng) const {
  if (distribution_ == Distribution::kUniform) return rng() % keys_;
  const uint64_t rank = zipf_.Next(rng);
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rank) * multiplier_) % keys_);
}

}  // namespace larder::bench

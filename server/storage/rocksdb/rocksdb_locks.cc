#include "server/storage/rocksdb/rocksdb_locks.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace larder::storage::internal {

size_t KeyLocks::StripeOf(absl::string_view ns, absl::string_view key) {
  return absl::HashOf(ns, key) % kStripes;
}

absl::Mutex& KeyLocks::For(absl::string_view ns, absl::string_view key) {
  return stripes_[StripeOf(ns, key)];
}

std::vector<size_t> KeyLocks::StripesOf(absl::string_view ns,
                                        const std::vector<absl::string_view>& keys) const {
  std::vector<size_t> stripes;
  stripes.reserve(keys.size());
  for (absl::string_view key : keys) stripes.push_back(StripeOf(ns, key));
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  return stripes;
}

// Lock and unlock a set only known at run time, which the thread-safety analysis cannot follow.
ScopedStripes::ScopedStripes(KeyLocks& locks,
                             std::vector<size_t> stripes) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : locks_(locks),
      stripes_(std::move(stripes)) {
  for (size_t stripe : stripes_) locks_.stripes_[stripe].Lock();
}

ScopedStripes::~ScopedStripes() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) locks_.stripes_[*it].Unlock();
}

}  // namespace larder::storage::internal

// The striped key locks of the RocksDB engine. A read-modify-write of one entry (Set, Delete,
// Touch, reclaiming an expired entry) holds the stripe of its key; an operation on many keys
// (MultiSet, one batch of an Invalidate) holds the stripes of all of them, taken in ascending
// order. No thread takes a stripe while holding one out of that order, so there is no deadlock.
// The locks guard rows in RocksDB rather than fields. Internal to server/storage/rocksdb.
//
//   absl::MutexLock lock(&locks.For(ns, key));                    // one key
//   ScopedStripes held(locks, locks.StripesOf(ns, keys));          // many keys
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace larder::storage::internal {

class KeyLocks {
 public:
  // Enough that a batch of limits::kKeysPerLockedBatch keys leaves most stripes free.
  static constexpr size_t kStripes = 1024;

  absl::Mutex& For(absl::string_view ns, absl::string_view key);
  // The stripes of (ns, key) for every key, ascending, each once.
  std::vector<size_t> StripesOf(absl::string_view ns,
                                const std::vector<absl::string_view>& keys) const;

 private:
  friend class ScopedStripes;
  static size_t StripeOf(absl::string_view ns, absl::string_view key);

  std::array<absl::Mutex, kStripes> stripes_;
};

// Holds the given stripes (ascending, distinct: KeyLocks::StripesOf) until destroyed.
class ScopedStripes {
 public:
  ScopedStripes(KeyLocks& locks, std::vector<size_t> stripes);
  ~ScopedStripes();
  ScopedStripes(const ScopedStripes&) = delete;
  ScopedStripes& operator=(const ScopedStripes&) = delete;

 private:
  KeyLocks& locks_;
  const std::vector<size_t> stripes_;
};

}  // namespace larder::storage::internal

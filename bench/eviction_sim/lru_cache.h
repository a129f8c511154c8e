// LruCache: a plain least-recently-used cache of key ids under a byte budget, the baseline the
// eviction simulator holds the memory engine's S3-FIFO against. Every entry is charged the same
// bytes the memory engine would charge it, so both hold the same number of entries.
//
//   LruCache lru(/*capacity_bytes=*/1 << 20);
//   if (!lru.Get(id)) lru.Insert(id, charge);   // cache-aside
#pragma once

#include <cstdint>
#include <list>

#include "absl/container/flat_hash_map.h"

namespace larder::bench {

class LruCache {
 public:
  explicit LruCache(int64_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // True on a hit, which makes `id` the most recently used.
  bool Get(uint64_t id);
  // Adds `id` (absent) as the most recently used, evicting from the least recently used end.
  void Insert(uint64_t id, int64_t charge);

  int64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    uint64_t id;
    int64_t charge;
  };

  int64_t capacity_bytes_;
  int64_t charged_bytes_ = 0;
  int64_t evictions_ = 0;
  std::list<Entry> order_;  // Front: most recently used.
  absl::flat_hash_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace larder::bench

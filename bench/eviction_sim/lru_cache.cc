#include "bench/eviction_sim/lru_cache.h"

namespace larder::bench {

bool LruCache::Get(uint64_t id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  order_.splice(order_.begin(), order_, it->second);
  return true;
}

void LruCache::Insert(uint64_t id, int64_t charge) {
  order_.push_front(Entry{id, charge});
  index_[id] = order_.begin();
  charged_bytes_ += charge;
  while (charged_bytes_ > capacity_bytes_ && order_.size() > 1) {
    const Entry& victim = order_.back();
    charged_bytes_ -= victim.charge;
    index_.erase(victim.id);
    order_.pop_back();
    ++evictions_;
  }
}

}  // namespace larder::bench

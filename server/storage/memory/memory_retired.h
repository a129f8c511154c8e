// RetiredNamespaces: the eviction and expiration counts of namespace tables that emptied, kept
// for the most recent few so that Stats(ns) still reports them (a namespace's entries spread
// over shards, so one shard's table may empty while the namespace lives on; and a namespace
// whose last entry expired still reports that expiration). Bounded: at most
// kRetiredNamespacesPerShard records per shard, each charged against the shard's budget and
// dropped, oldest first, before any entry is evicted. Only tables that counted something are
// recorded; a table emptied by Delete or Invalidate alone leaves nothing behind.
// Internal to server/storage/memory; guarded by the owning shard's mutex.
//
//   retired.Retire(*table.name, table.evictions, table.expirations);   // its last entry went
//   if (auto counts = retired.Revive(ns)) { ... }                      // a new table of ns
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"

namespace larder::storage::internal {

// Records kept per shard; the oldest goes first beyond it.
inline constexpr size_t kRetiredNamespacesPerShard = 256;
// Bytes charged per record beyond the name: the map node, the order slot and headers.
inline constexpr int64_t kRetiredNamespaceOverheadBytes = 128;

class RetiredNamespaces {
 public:
  struct Counts {
    int64_t evictions = 0;
    int64_t expirations = 0;
  };

  // Remembers the counts of a table that just emptied (nothing when both are zero).
  void Retire(absl::string_view name, int64_t evictions, int64_t expirations) {
    if (evictions == 0 && expirations == 0) return;
    auto [it, added] = records_.try_emplace(name);
    if (added) {
      charged_bytes_ += Charge(name);
    } else {  // Not expected (a new table revives the record first), but kept exact.
      order_.erase(it->second.order);
    }
    it->second.counts.evictions += evictions;
    it->second.counts.expirations += expirations;
    it->second.order = next_order_++;
    order_.emplace(it->second.order, &it->first);
    if (records_.size() > kRetiredNamespacesPerShard) DropOldest();
  }

  // Forgets and returns the counts of `name`, for the new table that takes them over.
  std::optional<Counts> Revive(absl::string_view name) {
    auto it = records_.find(name);
    if (it == records_.end()) return std::nullopt;
    const Counts counts = it->second.counts;
    Erase(it);
    return counts;
  }

  // The counts of `name`, or nullptr.
  const Counts* Find(absl::string_view name) const {
    auto it = records_.find(name);
    return it == records_.end() ? nullptr : &it->second.counts;
  }

  // Forgets the oldest record; false when there is none.
  bool DropOldest() {
    if (order_.empty()) return false;
    Erase(records_.find(*order_.begin()->second));
    return true;
  }

  int64_t charged_bytes() const { return charged_bytes_; }
  int64_t size() const { return static_cast<int64_t>(records_.size()); }

 private:
  struct Record {
    Counts counts;
    uint64_t order = 0;
  };
  using Records = absl::node_hash_map<std::string, Record>;

  static int64_t Charge(absl::string_view name) {
    return kRetiredNamespaceOverheadBytes + static_cast<int64_t>(name.size());
  }
  void Erase(Records::iterator it) {
    charged_bytes_ -= Charge(it->first);
    order_.erase(it->second.order);
    records_.erase(it);
  }

  Records records_;
  absl::btree_map<uint64_t, const std::string*> order_;  // Oldest first; views records_' keys.
  uint64_t next_order_ = 0;
  int64_t charged_bytes_ = 0;
};

}  // namespace larder::storage::internal

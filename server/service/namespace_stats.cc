#include "server/service/namespace_stats.h"

namespace larder::server {

NamespaceStats::Counters& NamespaceStats::CountersFor(absl::string_view ns) {
  {
    absl::ReaderMutexLock lock(&mutex_);
    auto it = by_namespace_.find(ns);
    if (it != by_namespace_.end()) return it->second;
    if (by_namespace_.size() >= max_tracked_) return overflow_;
  }
  absl::MutexLock lock(&mutex_);
  if (by_namespace_.size() >= max_tracked_ && !by_namespace_.contains(ns)) return overflow_;
  auto [it, added] = by_namespace_.try_emplace(ns);
  if (added) it->second.ordinal = by_namespace_.size() - 1;
  return it->second;
}

void NamespaceStats::RecordLookups(absl::string_view ns, int64_t hits, int64_t misses) {
  Counters& counters = CountersFor(ns);
  for (Counters* c : {&counters, &totals_}) {
    if (hits != 0) c->hits.fetch_add(hits, std::memory_order_relaxed);
    if (misses != 0) c->misses.fetch_add(misses, std::memory_order_relaxed);
  }
}

HitCounts NamespaceStats::Counts(absl::string_view ns) const {
  if (ns.empty()) return totals_.Load();
  absl::ReaderMutexLock lock(&mutex_);
  auto it = by_namespace_.find(ns);
  return it != by_namespace_.end() ? it->second.Load() : overflow_.Load();
}

std::vector<NamespaceHitCounts> NamespaceStats::Snapshot() const {
  std::vector<NamespaceHitCounts> snapshot;
  absl::ReaderMutexLock lock(&mutex_);
  snapshot.reserve(by_namespace_.size());
  for (const auto& [name, counters] : by_namespace_) {
    snapshot.push_back(NamespaceHitCounts{name, counters.ordinal, counters.Load()});
  }
  return snapshot;
}

}  // namespace larder::server

#include "server/service/namespace_stats.h"

namespace larder::server {

void NamespaceStats::Counters::Add(int64_t hit_count, int64_t miss_count) {
  if (hit_count != 0) hits.fetch_add(hit_count, std::memory_order_relaxed);
  if (miss_count != 0) misses.fetch_add(miss_count, std::memory_order_relaxed);
  if (!used.load(std::memory_order_relaxed)) used.store(true, std::memory_order_relaxed);
}

void NamespaceStats::RecordLookups(absl::string_view ns, int64_t hits, int64_t misses) {
  totals_.Add(hits, misses);
  {
    absl::ReaderMutexLock lock(&mutex_);
    auto it = by_namespace_.find(ns);
    if (it != by_namespace_.end()) return it->second.Add(hits, misses);
    if (by_namespace_.size() >= max_tracked_) return overflow_.Add(hits, misses);
  }
  AddAndRecord(ns, hits, misses);
}

void NamespaceStats::AddAndRecord(absl::string_view ns, int64_t hits, int64_t misses) {
  absl::MutexLock lock(&mutex_);
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) {
    if (by_namespace_.size() >= max_tracked_) return overflow_.Add(hits, misses);
    it = by_namespace_.try_emplace(ns).first;
    if (free_ordinals_.empty()) {
      it->second.ordinal = next_ordinal_++;
    } else {
      it->second.ordinal = *free_ordinals_.begin();
      free_ordinals_.erase(free_ordinals_.begin());
    }
  }
  it->second.Add(hits, misses);
}

HitCounts NamespaceStats::Counts(absl::string_view ns) const {
  if (ns.empty()) return totals_.Load();
  absl::ReaderMutexLock lock(&mutex_);
  auto it = by_namespace_.find(ns);
  return it != by_namespace_.end() ? it->second.Load() : overflow_.Load();
}

size_t NamespaceStats::tracked() const {
  absl::ReaderMutexLock lock(&mutex_);
  return by_namespace_.size();
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

std::vector<std::string> NamespaceStats::TakeIdle(size_t limit) {
  std::vector<std::string> idle;
  absl::ReaderMutexLock lock(&mutex_);
  for (auto& [name, counters] : by_namespace_) {
    if (counters.used.exchange(false, std::memory_order_relaxed)) continue;
    if (idle.size() < limit) idle.push_back(name);
  }
  return idle;
}

void NamespaceStats::ForgetIfIdle(absl::string_view ns) {
  absl::MutexLock lock(&mutex_);
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end() || it->second.used.load(std::memory_order_relaxed)) return;
  const HitCounts counts = it->second.Load();
  overflow_.Add(counts.hits, counts.misses);
  free_ordinals_.insert(it->second.ordinal);
  by_namespace_.erase(it);
}

}  // namespace larder::server

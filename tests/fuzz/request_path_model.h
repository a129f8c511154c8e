// The reference model request_path_fuzz holds larderd's request path to: what every entry must be
// if it is still there, and how many reads hit and missed. Written from the larder.v1 contract
// (proto/larder/v1/cache.proto) and the StorageEngine contract, not from the code under test.
//
// The memory engine may evict any entry but the one a Set is writing, so the model cannot know
// which entries are still held once something was evicted. Each entry therefore remembers the
// engine's eviction count just after it was stored: while that count has not moved, the entry is
// certainly held (if it has not expired); after that, it may be gone, but if it is there it is
// exactly what the model says. Nothing the model forgot may ever come back.
//
//   RequestPathModel model;
//   model.Put("ns", "k", {value, etag, expires_at, tags, evictions_after_set});
//   const ModelEntry* entry = model.Find("ns", "k");
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::fuzz {

struct ModelEntry {
  std::string value;
  std::string etag;
  absl::Time expires_at = absl::InfiniteFuture();
  std::vector<std::string> tags;
  // Stats("").evictions once the entry was stored; while it is unchanged, nothing was evicted.
  int64_t evictions_at_set = 0;
};

struct HitCounts {
  int64_t hits = 0;
  int64_t misses = 0;
};

class RequestPathModel {
 public:
  using Key = std::pair<std::string, std::string>;  // (namespace, key)

  // The entry last stored under (ns, key) and not since removed, or nullptr.
  const ModelEntry* Find(absl::string_view ns, absl::string_view key) const {
    auto it = entries_.find(Key(ns, key));
    return it == entries_.end() ? nullptr : &it->second;
  }
  ModelEntry* FindMutable(absl::string_view ns, absl::string_view key) {
    auto it = entries_.find(Key(ns, key));
    return it == entries_.end() ? nullptr : &it->second;
  }
  void Put(absl::string_view ns, absl::string_view key, ModelEntry entry) {
    namespaces_.emplace(ns);
    entries_[Key(ns, key)] = std::move(entry);
  }
  void Erase(absl::string_view ns, absl::string_view key) { entries_.erase(Key(ns, key)); }

  // Live: not expired at `now`. Certain: live and nothing evicted since it was stored.
  static bool Live(const ModelEntry& entry, absl::Time now) { return entry.expires_at > now; }
  static bool Certain(const ModelEntry& entry, absl::Time now, int64_t evictions) {
    return Live(entry, now) && entry.evictions_at_set == evictions;
  }

  void CountReads(absl::string_view ns, int64_t hits, int64_t misses) {
    HitCounts& counts = hits_[std::string(ns)];
    counts.hits += hits;
    counts.misses += misses;
    totals_.hits += hits;
    totals_.misses += misses;
  }
  HitCounts Counts(absl::string_view ns) const {
    if (ns.empty()) return totals_;
    auto it = hits_.find(std::string(ns));
    return it == hits_.end() ? HitCounts{} : it->second;
  }

  const std::map<Key, ModelEntry>& entries() const { return entries_; }
  // Every namespace that ever held an entry.
  const std::set<std::string>& namespaces() const { return namespaces_; }

 private:
  std::map<Key, ModelEntry> entries_;
  std::set<std::string> namespaces_;
  std::map<std::string, HitCounts> hits_;
  HitCounts totals_;
};

}  // namespace larder::fuzz

// NamespaceStats: hit and miss counters per namespace, for the Stats RPC and /metrics. Lookups
// take only a shared lock and counters are atomics, so counting never serialises requests.
// At most `max_tracked` namespaces get counters of their own; later ones share an overflow
// bucket (so a client cannot grow this without bound) and always count in the totals.
// Namespaces that fall idle and hold nothing are forgotten (TakeIdle, then ForgetIfIdle): their
// counts move to the overflow bucket, so every sum over namespaces stays monotonic, and their
// slot goes to the next new namespace.
//
//   NamespaceStats stats(10000);
//   stats.RecordLookup("users", /*hit=*/true);
//   HitCounts users = stats.Counts("users");
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace larder::server {

struct HitCounts {
  int64_t hits = 0;
  int64_t misses = 0;
};

// One tracked namespace in a snapshot. `ordinal` is the smallest number (0, 1, ...) free when the
// namespace was first seen: stable while it is tracked; a forgotten namespace's ordinal is reused.
struct NamespaceHitCounts {
  std::string name;
  size_t ordinal = 0;
  HitCounts counts;
};

// Thread-safe.
class NamespaceStats {
 public:
  explicit NamespaceStats(size_t max_tracked) : max_tracked_(max_tracked) {}

  void RecordLookup(absl::string_view ns, bool hit) { RecordLookups(ns, hit ? 1 : 0, hit ? 0 : 1); }
  // Several lookups of one namespace at once (a MultiGet): one map lookup for all of them.
  void RecordLookups(absl::string_view ns, int64_t hits, int64_t misses);
  // Starts tracking `ns` (at zero) if there is room, so its counters are exported before its
  // first lookup: Prometheus' rate() never counts a series' first value.
  void Register(absl::string_view ns) { RecordLookups(ns, 0, 0); }
  // Counts of one namespace (the overflow bucket's when it was not tracked), or the totals of
  // every namespace when `ns` is empty.
  HitCounts Counts(absl::string_view ns) const;
  // Every tracked namespace with its counts, in no particular order.
  std::vector<NamespaceHitCounts> Snapshot() const;
  // Counts of namespaces beyond max_tracked, and of forgotten ones.
  HitCounts OverflowCounts() const { return overflow_.Load(); }
  // The number of namespaces with counters of their own.
  size_t tracked() const;

  // Up to `limit` namespaces with no lookup or registration since the previous call; every other
  // namespace is marked, so it is returned by the next call unless it is used meanwhile.
  std::vector<std::string> TakeIdle(size_t limit);
  // Forgets `ns` unless it was used since TakeIdle returned it; its counts join the overflow.
  void ForgetIfIdle(absl::string_view ns);

 private:
  struct Counters {
    std::atomic<int64_t> hits{0};
    std::atomic<int64_t> misses{0};
    std::atomic<bool> used{true};  // Since the last TakeIdle.
    size_t ordinal = 0;
    HitCounts Load() const { return {hits.load(), misses.load()}; }
    void Add(int64_t hit_count, int64_t miss_count);
  };
  // Starts tracking `ns` (if there is room) and counts; the slow path of RecordLookups.
  void AddAndRecord(absl::string_view ns, int64_t hits, int64_t misses) ABSL_LOCKS_EXCLUDED(mutex_);

  const size_t max_tracked_;
  mutable absl::Mutex mutex_;
  // Counters are changed under the shared lock (they are atomics), so ForgetIfIdle, which takes
  // the exclusive lock, never frees counters a caller is still writing.
  absl::node_hash_map<std::string, Counters> by_namespace_ ABSL_GUARDED_BY(mutex_);
  std::set<size_t> free_ordinals_ ABSL_GUARDED_BY(mutex_);
  size_t next_ordinal_ ABSL_GUARDED_BY(mutex_) = 0;
  Counters overflow_;
  Counters totals_;
};

}  // namespace larder::server

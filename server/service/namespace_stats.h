// NamespaceStats: hit and miss counters per namespace, for the Stats RPC and /metrics. Lookups
// take only a shared lock and counters are atomics, so counting never serialises requests.
// At most `max_tracked` namespaces get counters of their own; later ones share an overflow
// bucket (so a client cannot grow this without bound) and always count in the totals.
//
//   NamespaceStats stats(10000);
//   stats.RecordLookup("users", /*hit=*/true);
//   HitCounts users = stats.Counts("users");
#pragma once

#include <atomic>
#include <cstdint>
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

// One tracked namespace in a snapshot. `ordinal` is the order in which namespaces were first
// seen (0, 1, ...): stable for the life of the process.
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
  void Register(absl::string_view ns) { CountersFor(ns); }
  // Counts of one namespace (the overflow bucket's when it was not tracked), or the totals of
  // every namespace when `ns` is empty.
  HitCounts Counts(absl::string_view ns) const;
  // Every tracked namespace with its counts, in no particular order.
  std::vector<NamespaceHitCounts> Snapshot() const;
  // Counts of namespaces beyond max_tracked.
  HitCounts OverflowCounts() const { return overflow_.Load(); }

 private:
  struct Counters {
    std::atomic<int64_t> hits{0};
    std::atomic<int64_t> misses{0};
    size_t ordinal = 0;
    HitCounts Load() const { return {hits.load(), misses.load()}; }
  };
  Counters& CountersFor(absl::string_view ns);

  const size_t max_tracked_;
  mutable absl::Mutex mutex_;
  absl::node_hash_map<std::string, Counters> by_namespace_ ABSL_GUARDED_BY(mutex_);
  Counters overflow_;
  Counters totals_;
};

}  // namespace larder::server

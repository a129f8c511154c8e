#include "bench/eviction_sim/simulate.h"

#include <memory>
#include <string>

#include "bench/common/key_space.h"
#include "bench/eviction_sim/lru_cache.h"
#include "larder/common/clock.h"
#include "server/storage/memory/memory_engine.h"
#include "server/storage/memory/memory_node.h"

namespace larder::bench {
namespace {

// A strong ETag is a quote, 32 hex digits and a quote.
const std::string& Etag() {
  static const std::string* const etag = new std::string("\"" + std::string(32, 'a') + "\"");
  return *etag;
}

}  // namespace

int64_t EntryCharge(size_t value_size) {
  return storage::internal::kEntryOverheadBytes + static_cast<int64_t>(KeyName(0).size()) +
         static_cast<int64_t>(value_size) + static_cast<int64_t>(Etag().size());
}

int64_t BudgetFor(const Trace& trace, const SimConfig& config) {
  return static_cast<int64_t>(config.cache_fraction * static_cast<double>(trace.distinct) *
                              static_cast<double>(EntryCharge(config.value_size)));
}

absl::StatusOr<SimResult> SimulateMemoryEngine(const Trace& trace, const SimConfig& config) {
  storage::MemoryEngineOptions options;
  options.max_bytes = BudgetFor(trace, config);
  options.shards = config.shards;
  options.max_entry_bytes = EntryCharge(config.value_size);
  options.sweep_interval = absl::ZeroDuration();  // No TTLs here: no sweeper thread.
  absl::StatusOr<std::unique_ptr<storage::MemoryEngine>> engine =
      storage::MemoryEngine::Create(options, Clock::Real());
  if (!engine.ok()) return engine.status();
  const std::string value(config.value_size, 'v');
  storage::SetOptions set_options;
  set_options.etag = Etag();
  SimResult result{
      0, 0, static_cast<int64_t>(trace.ids.size()), 0, options.max_bytes, (*engine)->shard_count()};
  for (uint64_t id : trace.ids) {
    const std::string key = KeyName(id);
    absl::StatusOr<std::optional<storage::StoredEntry>> found = (*engine)->Get("sim", key);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      ++result.hits;
      continue;
    }
    absl::StatusOr<storage::SetResult> stored = (*engine)->Set("sim", key, value, set_options);
    if (!stored.ok()) return stored.status();
  }
  absl::StatusOr<storage::EngineStats> stats = (*engine)->Stats("");
  if (!stats.ok()) return stats.status();
  result.evictions = stats->evictions;
  result.hit_ratio = static_cast<double>(result.hits) / static_cast<double>(result.requests);
  return result;
}

SimResult SimulateLru(const Trace& trace, const SimConfig& config) {
  SimResult result{0, 0, static_cast<int64_t>(trace.ids.size()), 0, BudgetFor(trace, config), 1};
  LruCache lru(result.budget_bytes);
  const int64_t charge = EntryCharge(config.value_size);
  for (uint64_t id : trace.ids) {
    if (lru.Get(id)) {
      ++result.hits;
    } else {
      lru.Insert(id, charge);
    }
  }
  result.evictions = lru.evictions();
  result.hit_ratio = static_cast<double>(result.hits) / static_cast<double>(result.requests);
  return result;
}

}  // namespace larder::bench

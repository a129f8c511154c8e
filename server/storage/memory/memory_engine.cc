#include "server/storage/memory/memory_engine.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace larder::storage {
namespace {

uint64_t HashOf(absl::string_view ns, absl::string_view key) { return absl::HashOf(ns, key); }

// The most shards (up to `wanted`) whose equal shares of max_bytes each hold one largest entry.
int FittingShards(const MemoryEngineOptions& options) {
  const int64_t fit = options.max_bytes / std::max<int64_t>(1, options.max_entry_bytes);
  return static_cast<int>(std::clamp<int64_t>(fit, 1, options.shards));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryEngine>> MemoryEngine::Create(
    const MemoryEngineOptions& options, const Clock& clock) {
  if (options.shards < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory engine: shards must be at least 1, got ", options.shards));
  }
  if (options.sweep_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory engine: sweep_batch must be at least 1, got ", options.sweep_batch));
  }
  if (options.max_bytes < options.max_entry_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory-limit: must be at least ", options.max_entry_bytes,
                     " bytes (one largest entry: max-value-bytes plus key and overhead), got ",
                     options.max_bytes));
  }
  return std::unique_ptr<MemoryEngine>(new MemoryEngine(options, clock, FittingShards(options)));
}

MemoryEngine::MemoryEngine(const MemoryEngineOptions& options, const Clock& clock, int shards)
    : options_(options), clock_(clock) {
  shards_.reserve(shards);
  for (int i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<internal::MemoryShard>(options.max_bytes / shards));
  }
  if (options_.sweep_interval > absl::ZeroDuration()) {
    sweeper_ = std::thread([this] { SweepLoop(); });
  }
}

MemoryEngine::~MemoryEngine() {
  {
    absl::MutexLock lock(&sweeper_mutex_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
}

void MemoryEngine::SweepLoop() {
  absl::MutexLock lock(&sweeper_mutex_);
  while (!sweeper_mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.sweep_interval)) {
    sweeper_mutex_.Unlock();
    SweepExpired();
    sweeper_mutex_.Lock();
  }
}

int64_t MemoryEngine::SweepExpired() {
  const absl::Time now = clock_.Now();
  int64_t removed = 0;
  for (auto& shard : shards_) removed += shard->SweepExpired(now, options_.sweep_batch);
  return removed;
}

absl::StatusOr<std::optional<StoredEntry>> MemoryEngine::Get(absl::string_view ns,
                                                             absl::string_view key) {
  return ShardFor(HashOf(ns, key)).Get(ns, key, clock_.Now());
}

absl::StatusOr<SetResult> MemoryEngine::Set(absl::string_view ns, absl::string_view key,
                                            absl::string_view value, const SetOptions& options) {
  const uint64_t hash = HashOf(ns, key);
  return ShardFor(hash).Set(ns, key, hash, value, options, clock_.Now());
}

absl::StatusOr<bool> MemoryEngine::Delete(absl::string_view ns, absl::string_view key) {
  return ShardFor(HashOf(ns, key)).Delete(ns, key, clock_.Now());
}

absl::StatusOr<std::optional<std::string>> MemoryEngine::Touch(absl::string_view ns,
                                                               absl::string_view key,
                                                               absl::Time expires_at) {
  return ShardFor(HashOf(ns, key)).Touch(ns, key, expires_at, clock_.Now());
}

absl::StatusOr<int64_t> MemoryEngine::Invalidate(absl::string_view ns,
                                                 const InvalidateTarget& target) {
  const absl::Time now = clock_.Now();
  int64_t deleted = 0;
  for (auto& shard : shards_) deleted += shard->Invalidate(ns, target, now);
  return deleted;
}

absl::StatusOr<EngineStats> MemoryEngine::Stats(absl::string_view ns) {
  EngineStats stats;
  for (auto& shard : shards_) shard->AddStats(ns, stats);
  return stats;
}

void RegisterMemoryEngine(EngineRegistry& registry) {
  registry.Register("memory",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine = MemoryEngine::Create(options.memory, clock);
                      if (!engine.ok()) return std::move(engine).status();
                      return std::unique_ptr<StorageEngine>(*std::move(engine));
                    });
}

}  // namespace larder::storage

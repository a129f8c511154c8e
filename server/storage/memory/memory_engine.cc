#include "server/storage/memory/memory_engine.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/storage/glob.h"
#include "server/storage/leasing_engine.h"

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
  internal::InvalidateScan scan;
  scan.kind = target.kind;
  std::optional<CompiledGlob> glob;
  switch (target.kind) {
    case InvalidateTarget::Kind::kAll:
      break;
    case InvalidateTarget::Kind::kPrefix:
      scan.range_prefix = target.argument;
      break;
    case InvalidateTarget::Kind::kPattern: {
      absl::StatusOr<CompiledGlob> compiled = CompiledGlob::Compile(target.argument);
      if (!compiled.ok()) return std::move(compiled).status();
      glob.emplace(*std::move(compiled));
      scan.glob = &*glob;
      scan.range_prefix = glob->literal_prefix();
      break;
    }
    case InvalidateTarget::Kind::kTag:
      scan.tag = target.argument;
      break;
  }
  // Recorded for every shard before any is walked: whatever is stored from here on has a larger
  // sequence and is left alone.
  std::vector<uint64_t> written_up_to;
  written_up_to.reserve(shards_.size());
  for (auto& shard : shards_) written_up_to.push_back(shard->write_sequence());
  const absl::Time now = clock_.Now();
  int64_t removed = 0;
  for (size_t i = 0; i < shards_.size(); ++i) {
    removed += shards_[i]->Invalidate(ns, scan, written_up_to[i], now);
  }
  return removed;
}

absl::StatusOr<NamespaceList> MemoryEngine::ListNamespaces(absl::string_view after, size_t limit) {
  // Each shard's first limit + 1 names after `after`: a name among the first `limit + 1` of all
  // shards is among the first `limit + 1` of every shard holding it, so its sums are complete.
  std::vector<NamespaceInfo> found;
  for (auto& shard : shards_) shard->ListNamespaces(after, limit + 1, found);
  std::sort(found.begin(), found.end(),
            [](const NamespaceInfo& a, const NamespaceInfo& b) { return a.name < b.name; });
  NamespaceList list;
  for (NamespaceInfo& info : found) {
    if (!list.namespaces.empty() && list.namespaces.back().name == info.name) {
      list.namespaces.back().entries += info.entries;
      list.namespaces.back().bytes += info.bytes;
      continue;
    }
    if (list.namespaces.size() == limit) {
      list.resume_after = list.namespaces.back().name;
      break;
    }
    list.namespaces.push_back(std::move(info));
  }
  return list;
}

absl::StatusOr<EngineStats> MemoryEngine::Stats(absl::string_view ns) {
  EngineStats stats;
  for (auto& shard : shards_) shard->AddStats(ns, stats);
  return stats;
}

MemoryUsage MemoryEngine::Usage() {
  MemoryUsage usage;
  for (auto& shard : shards_) {
    const internal::ShardUsage part = shard->Usage();
    usage.charged_bytes += part.charged_bytes;
    usage.max_shard_charged_bytes = std::max(usage.max_shard_charged_bytes, part.charged_bytes);
    usage.shard_capacity_bytes = part.capacity_bytes;
    usage.namespace_tables += part.namespace_tables;
    usage.tag_sets += part.tag_sets;
    usage.retired_namespaces += part.retired_namespaces;
  }
  return usage;
}

void RegisterMemoryEngine(EngineRegistry& registry) {
  registry.Register("memory",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine = MemoryEngine::Create(options.memory, clock);
                      if (!engine.ok()) return std::move(engine).status();
                      return WithLeases(*std::move(engine), options.leases, clock);
                    });
}

}  // namespace larder::storage

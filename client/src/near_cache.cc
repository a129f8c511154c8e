#include "client/src/near_cache.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/hash/hash.h"
#include "client/src/near_shard.h"
#include "prometheus/counter.h"

namespace larder::client::internal {
namespace {

constexpr int64_t kMaxShards = 256;
// Shards are fewer for small budgets, so each can hold an entry of this size.
constexpr int64_t kMinShardBytes = int64_t{64} << 10;

int64_t ShardCount(const NearCacheLimits& limits) {
  int64_t count = std::clamp<int64_t>(limits.shards, 1, kMaxShards);
  count = std::min(count, std::max<int64_t>(1, limits.max_entries));
  count = std::min(count, std::max<int64_t>(1, limits.max_bytes / kMinShardBytes));
  return count;
}

uint64_t HashKey(absl::string_view ns, absl::string_view key) {
  return static_cast<uint64_t>(absl::HashOf(ns, key));
}

// The epoch after `epoch`: odd when `live`, even otherwise.
uint64_t NextEpoch(uint64_t epoch, bool live) {
  const uint64_t next = epoch + 1;
  return NearNamespace::IsLive(next) == live ? next : next + 1;
}

void RaiseTo(std::atomic<uint64_t>& mark, uint64_t value) {
  uint64_t current = mark.load();
  while (current < value && !mark.compare_exchange_weak(current, value)) {
  }
}

void Count(prometheus::Counter* counter) {
  if (counter != nullptr) counter->Increment();
}

}  // namespace

NearCache::NearCache(NearCacheLimits limits, const Clock& clock, const NearCacheMetrics* metrics)
    : clock_(clock), metrics_(metrics) {
  const int64_t count = ShardCount(limits);
  shards_.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<NearShard>(
        std::max<int64_t>(0, limits.max_bytes) / count,
        std::max<int64_t>(0, limits.max_entries) / count,
        std::max<int64_t>(0, limits.max_key_marks) / count, clock, metrics));
  }
}

NearCache::~NearCache() = default;

bool NearCache::Lookup(absl::string_view ns, absl::string_view key, GetResult& out,
                       bool count_miss) {
  const bool hit = ShardFor(HashKey(ns, key)).Lookup(ns, key, out);
  if (metrics_ != nullptr && (hit || count_miss)) Count(hit ? metrics_->hits : metrics_->misses);
  return hit;
}

NearTicket NearCache::BeginFetch(absl::string_view ns) {
  const NearNamespace* state = FindNamespace(ns);
  if (state == nullptr) return {};
  NearTicket ticket;
  ticket.epoch = state->epoch.load();
  if (!NearNamespace::IsLive(ticket.epoch)) return {};
  ticket.invalidations = state->invalidations.load();
  ticket.ns = state;
  return ticket;
}

bool NearCache::Install(const NearTicket& ticket, absl::string_view ns, absl::string_view key,
                        NearEntry entry) {
  if (!ticket.valid() || ticket.ns->name != ns) return false;
  if (entry.expires_at.has_value() && *entry.expires_at <= clock_.Now()) return false;
  const int64_t charge =
      static_cast<int64_t>(ns.size() + key.size() + entry.value.size() + entry.etag.size()) +
      kNearEntryOverheadBytes;
  const uint64_t hash = HashKey(ns, key);
  const NearInstallResult result =
      ShardFor(hash).Install(ticket, key, hash, std::move(entry), charge);
  if (result == NearInstallResult::kRaced && metrics_ != nullptr) {
    Count(metrics_->refused_installs);
  }
  return result == NearInstallResult::kInstalled;
}

void NearCache::OnReset(absl::string_view ns) { Restart(ns, /*live=*/true); }

void NearCache::OnDown(absl::string_view ns) { Restart(ns, /*live=*/false); }

void NearCache::InvalidateKey(absl::string_view ns, absl::string_view key) {
  NearNamespace* state = FindNamespace(ns);
  if (state == nullptr) return;
  // Counted before the shard records the mark: see "Why an old value can never stay".
  const uint64_t counter = state->invalidations.fetch_add(1) + 1;
  ShardFor(HashKey(ns, key)).InvalidateKey(*state, key, counter);
}

void NearCache::InvalidateAll(absl::string_view ns) {
  InvalidateBroadly(ns, /*drop_all=*/true, "");
}

void NearCache::InvalidatePrefix(absl::string_view ns, absl::string_view prefix) {
  InvalidateBroadly(ns, /*drop_all=*/false, prefix);
}

void NearCache::InvalidatePattern(absl::string_view ns, absl::string_view /*glob*/) {
  InvalidateBroadly(ns, /*drop_all=*/true, "");
}

void NearCache::InvalidateTag(absl::string_view ns, absl::string_view /*tag*/) {
  InvalidateBroadly(ns, /*drop_all=*/true, "");
}

int64_t NearCache::bytes() const {
  int64_t total = 0;
  for (const auto& shard : shards_) total += shard->bytes();
  return total;
}

int64_t NearCache::entries() const {
  int64_t total = 0;
  for (const auto& shard : shards_) total += shard->entries();
  return total;
}

NearShard& NearCache::ShardFor(uint64_t hash) const { return *shards_[hash % shards_.size()]; }

NearNamespace* NearCache::FindNamespace(absl::string_view ns) const {
  absl::ReaderMutexLock lock(&namespaces_mutex_);
  auto found = namespaces_.find(ns);
  return found == namespaces_.end() ? nullptr : found->second.get();
}

NearNamespace& NearCache::FindOrAddNamespace(absl::string_view ns) {
  if (NearNamespace* found = FindNamespace(ns)) return *found;
  absl::MutexLock lock(&namespaces_mutex_);
  std::unique_ptr<NearNamespace>& state = namespaces_[ns];
  if (state == nullptr) state = std::make_unique<NearNamespace>(ns);
  return *state;
}

void NearCache::Restart(absl::string_view ns, bool live) {
  NearNamespace& state = FindOrAddNamespace(ns);
  // The new epoch is stored before the sweep, so no Install of an older ticket can follow it.
  uint64_t epoch = state.epoch.load();
  while (!state.epoch.compare_exchange_weak(epoch, NextEpoch(epoch, live))) {
  }
  for (const auto& shard : shards_) shard->DropNamespace(ns);
  if (metrics_ != nullptr) Count(metrics_->resets);
}

void NearCache::InvalidateBroadly(absl::string_view ns, bool drop_all, absl::string_view prefix) {
  NearNamespace* state = FindNamespace(ns);
  if (state == nullptr) return;
  // Both marks are raised before the sweep: see "Why an old value can never stay".
  const uint64_t counter = state->invalidations.fetch_add(1) + 1;
  RaiseTo(state->refuse_below, counter);
  if (drop_all) RaiseTo(state->serve_from, counter);
  for (const auto& shard : shards_) {
    if (drop_all) {
      shard->DropNamespace(ns);
    } else {
      shard->DropPrefix(ns, prefix);
    }
  }
}

}  // namespace larder::client::internal

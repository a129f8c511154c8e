#include "larder/http/local_response_store.h"

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace larder::http {
namespace {

constexpr size_t kShards = 16;

struct LocalEntry {
  StoredResponse response;
  absl::Time expires_at;
  int64_t bytes = 0;
};

int64_t BytesOf(const std::string& key, const StoredResponse& stored) {
  int64_t bytes =
      static_cast<int64_t>(key.size() + stored.response.body.size() + stored.meta.etag.size()) +
      128;
  for (const auto& [name, value] : stored.response.headers.fields()) {
    bytes += static_cast<int64_t>(name.size() + value.size()) + 32;
  }
  return bytes;
}

// One lock's worth of entries, evicted oldest-first beyond its byte budget. Every removal
// (Erase, EraseWithPrefix) advances the shard's generation; a response read from the backend is
// installed only if the generation is still the one taken before the read, so a lookup in
// flight never re-installs what this process has just replaced or invalidated.
class LocalShard {
 public:
  uint64_t generation() {
    absl::MutexLock lock(&mutex_);
    return generation_;
  }

  std::optional<StoredResponse> Find(const std::string& key, absl::Time now) {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires_at <= now) {
      bytes_ -= it->second.bytes;
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.response;
  }

  // Installs `response` unless the shard lost an entry since `read_generation` was taken.
  void Put(const std::string& key, StoredResponse response, absl::Time expires_at, int64_t budget,
           uint64_t read_generation) {
    const int64_t bytes = BytesOf(key, response);
    if (bytes > budget) return;
    absl::MutexLock lock(&mutex_);
    if (generation_ != read_generation) return;
    EraseLocked(key);
    entries_[key] = LocalEntry{std::move(response), expires_at, bytes};
    bytes_ += bytes;
    order_.push_back(key);
    while (bytes_ > budget && !order_.empty()) {
      EraseLocked(order_.front());
      order_.pop_front();
    }
    if (order_.size() > 2 * entries_.size() + 64) CompactOrderLocked();
  }

  void Erase(const std::string& key) {
    absl::MutexLock lock(&mutex_);
    ++generation_;
    EraseLocked(key);
  }

  void EraseWithPrefix(const std::string& prefix) {
    absl::MutexLock lock(&mutex_);
    ++generation_;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (absl::StartsWith(it->first, prefix)) {
        bytes_ -= it->second.bytes;
        entries_.erase(it++);
      } else {
        ++it;
      }
    }
  }

 private:
  void EraseLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }
  // Drops the order slots of keys erased since they were queued.
  void CompactOrderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    std::deque<std::string> kept;
    for (std::string& key : order_) {
      if (entries_.contains(key)) kept.push_back(std::move(key));
    }
    order_ = std::move(kept);
  }

  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, LocalEntry> entries_ ABSL_GUARDED_BY(mutex_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mutex_);
  int64_t bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
};

class LocalResponseStore final : public ResponseStore {
 public:
  LocalResponseStore(std::shared_ptr<ResponseStore> backend, LocalCacheOptions options,
                     const Clock& clock)
      : backend_(std::move(backend)), options_(options), clock_(clock) {}

  absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view ns, absl::string_view key,
                                                       LookupPurpose purpose) override {
    const std::string local_key = LocalKey(ns, key);
    const absl::Time now = clock_.Now();
    LocalShard& shard = ShardFor(local_key);
    if (std::optional<StoredResponse> local = shard.Find(local_key, now)) return local;
    const uint64_t read_generation = shard.generation();
    auto found = backend_->Lookup(ns, key, purpose);
    if (found.ok() && found->has_value() && now < (*found)->meta.fresh_until) {
      const absl::Time expires_at = std::min(now + options_.max_age, (*found)->meta.fresh_until);
      shard.Put(local_key, **found, expires_at, options_.max_bytes / kShards, read_generation);
    }
    return found;
  }

  absl::Status Store(absl::string_view ns, absl::string_view key, const StoredResponse& response,
                     absl::Duration ttl, const std::vector<std::string>& tags) override {
    const std::string local_key = LocalKey(ns, key);
    LocalShard& shard = ShardFor(local_key);
    shard.Erase(local_key);
    absl::Status stored = backend_->Store(ns, key, response, ttl, tags);
    shard.Erase(local_key);  // Also what a lookup read meanwhile installed.
    return stored;
  }

  absl::StatusOr<StoreLease> Lease(absl::string_view ns, absl::string_view key,
                                   absl::Duration lease_ttl) override {
    return backend_->Lease(ns, key, lease_ttl);
  }

  absl::StatusOr<bool> StoreLeased(absl::string_view ns, absl::string_view key,
                                   const StoredResponse& response, absl::Duration ttl,
                                   const std::vector<std::string>& tags,
                                   absl::string_view lease_token) override {
    const std::string local_key = LocalKey(ns, key);
    LocalShard& shard = ShardFor(local_key);
    shard.Erase(local_key);
    absl::StatusOr<bool> stored = backend_->StoreLeased(ns, key, response, ttl, tags, lease_token);
    shard.Erase(local_key);
    return stored;
  }

  absl::Status ReleaseLease(absl::string_view ns, absl::string_view key,
                            absl::string_view lease_token) override {
    const std::string local_key = LocalKey(ns, key);
    absl::Status released = backend_->ReleaseLease(ns, key, lease_token);
    ShardFor(local_key).Erase(local_key);
    return released;
  }

  // Tags are not tracked here: the namespace's local entries all go.
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag) override {
    return Invalidating(ns, [&] { return backend_->InvalidateTag(ns, tag); });
  }

  absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view ns,
                                           absl::string_view prefix) override {
    return Invalidating(ns, [&] { return backend_->InvalidatePrefix(ns, prefix); });
  }

 private:
  static std::string LocalKey(absl::string_view ns, absl::string_view key) {
    return absl::StrCat(ns, absl::string_view("\0", 1), key);
  }
  LocalShard& ShardFor(const std::string& local_key) {
    return shards_[absl::HashOf(local_key) % kShards];
  }
  // Drops the namespace's local entries and advances every shard's generation (one counter per
  // shard, all advanced: invalidations are rare, and a per-namespace count would need a map of
  // namespaces that grows without bound). Done before the backend call, so nothing local is
  // served meanwhile, and after it, so no lookup that read the backend before the invalidation
  // completed keeps or installs what it read.
  template <typename InvalidateFn>
  absl::StatusOr<int64_t> Invalidating(absl::string_view ns, InvalidateFn invalidate) {
    DropNamespace(ns);
    absl::StatusOr<int64_t> removed = invalidate();
    DropNamespace(ns);
    return removed;
  }
  void DropNamespace(absl::string_view ns) {
    const std::string prefix = LocalKey(ns, "");
    for (LocalShard& shard : shards_) shard.EraseWithPrefix(prefix);
  }

  const std::shared_ptr<ResponseStore> backend_;
  const LocalCacheOptions options_;
  const Clock& clock_;
  std::array<LocalShard, kShards> shards_;
};

}  // namespace

std::shared_ptr<ResponseStore> NewLocalResponseStore(std::shared_ptr<ResponseStore> backend,
                                                     LocalCacheOptions options,
                                                     const Clock& clock) {
  if (options.max_age <= absl::ZeroDuration() || options.max_bytes <= 0) return backend;
  return std::make_shared<LocalResponseStore>(std::move(backend), options, clock);
}

}  // namespace larder::http

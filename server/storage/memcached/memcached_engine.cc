#include "server/storage/memcached/memcached_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/storage/memcached/memcached_calls.h"

namespace larder::storage {
namespace {

using internal::MemcachedItem;

// Conditional writes retry this often when the item changes between their read and their cas.
constexpr int kCasAttempts = 32;
// What memcached adds to an item beyond its key and value (its item header, with CAS).
constexpr int64_t kItemOverheadBytes = 56;

}  // namespace

absl::StatusOr<std::unique_ptr<MemcachedEngine>> MemcachedEngine::Create(
    const MemcachedEngineOptions& options, const Clock& clock, const LeaseOptions& leases) {
  if (options.max_item_bytes < 1024) {
    return absl::InvalidArgumentError("--memcached-max-item-bytes: at least 1024");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--memcached-timeout: must be positive");
  }
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<internal::MemcachedPool> pool,
                          internal::MemcachedPool::Create(options));
  return std::unique_ptr<MemcachedEngine>(
      new MemcachedEngine(options, leases, clock, std::move(pool)));
}

MemcachedEngine::MemcachedEngine(const MemcachedEngineOptions& options, const LeaseOptions& leases,
                                 const Clock& clock, std::unique_ptr<internal::MemcachedPool> pool)
    : options_(options), leases_(leases), clock_(clock), pool_(std::move(pool)) {}

EngineCapabilities MemcachedEngine::capabilities() const {
  EngineCapabilities capabilities;
  capabilities.invalidate_prefix = capabilities.invalidate_pattern = false;
  capabilities.invalidate_counts = false;
  capabilities.list_namespaces = capabilities.namespace_stats = false;
  capabilities.shared_across_replicas = true;
  capabilities.watch_across_replicas = false;
  return capabilities;
}

MemcachedEngine::Keys MemcachedEngine::KeysOf(absl::string_view ns, absl::string_view key,
                                              bool lease_keys) const {
  Keys keys{internal::MemcachedEntryKey(options_.key_prefix, ns, key),
            internal::NamespaceGenerationKey(options_.key_prefix, ns), "", ""};
  if (lease_keys) {
    keys.record = internal::LeaseRecordKey(options_.key_prefix, ns, key);
    keys.lease_generation = internal::LeaseGenerationKey(options_.key_prefix, ns);
  }
  return keys;
}

time_t MemcachedEngine::ExpirationOf(absl::Time expires_at) const {
  return internal::MemcachedExpiration(expires_at, clock_.Now(), absl::Now());
}

uint64_t MemcachedEngine::RandomGeneration() {
  absl::MutexLock lock(&random_mutex_);
  return absl::Uniform<uint64_t>(random_, 1, uint64_t{1} << 62);
}

absl::StatusOr<MemcachedEngine::Current> MemcachedEngine::ReadCurrent(
    memcached_st* memc, absl::string_view ns, absl::string_view key, const Keys& keys,
    std::vector<std::string> also) {
  also.push_back(keys.entry);
  also.push_back(keys.generation);
  LARDER_ASSIGN_OR_RETURN(internal::FetchedItems items, internal::GetByKey(memc, keys.entry, also));
  return Evaluate(memc, ns, key, keys, std::move(items));
}

absl::StatusOr<MemcachedEngine::Current> MemcachedEngine::Evaluate(memcached_st* memc,
                                                                   absl::string_view ns,
                                                                   absl::string_view key,
                                                                   const Keys& keys,
                                                                   internal::FetchedItems items) {
  Current current;
  current.fetched = std::move(items);
  const internal::FetchedItems& fetched = current.fetched;
  auto entry = fetched.find(keys.entry);
  if (entry == fetched.end()) return current;
  current.present = true;
  current.cas = entry->second.cas;
  LARDER_ASSIGN_OR_RETURN(current.item, internal::DecodeMemcachedItem(entry->second.value));
  current.mine = current.item.full_key == internal::FullKey(ns, key);
  if (!current.mine) return current;
  auto generation = fetched.find(keys.generation);
  if (generation == fetched.end() ||
      internal::ParseGeneration(generation->second.value) != current.item.namespace_generation) {
    return current;  // Invalidated with its namespace.
  }
  if (current.item.expires_at <= clock_.Now()) {
    // Removed by a cas (not a delete, which would also remove a Set made since the read): an
    // empty item, no one's, that memcached drops within a second. Counted once, by the reader
    // whose cas succeeded.
    absl::StatusOr<internal::StoreOutcome> removed = internal::StoreByKey(
        memc, keys.entry, keys.entry, internal::EncodeMemcachedItem({}), 1, false, current.cas);
    if (removed.ok() && *removed == internal::StoreOutcome::kStored) CountExpiration(ns);
    // Whatever is there now, a conditional write's add fails on it and reads again.
    current.present = current.mine = false;
    return current;
  }
  LARDER_ASSIGN_OR_RETURN(current.live, TagsCurrent(memc, ns, keys, current.item));
  return current;
}

absl::StatusOr<bool> MemcachedEngine::TagsCurrent(memcached_st* memc, absl::string_view ns,
                                                  const Keys& keys, const MemcachedItem& item) {
  if (item.tags.empty()) return true;
  std::vector<std::string> tag_keys;
  for (const auto& tag : item.tags) {
    tag_keys.push_back(internal::TagGenerationKey(options_.key_prefix, ns, tag.first));
  }
  LARDER_ASSIGN_OR_RETURN(internal::FetchedItems items,
                          internal::GetByKey(memc, keys.entry, tag_keys));
  for (size_t i = 0; i < tag_keys.size(); ++i) {
    auto found = items.find(tag_keys[i]);
    if (found == items.end() ||
        internal::ParseGeneration(found->second.value) != item.tags[i].second) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> MemcachedEngine::GenerationKeys(absl::string_view ns, const Keys& keys,
                                                         const MemcachedItem& item) const {
  std::vector<std::string> counter_keys = {keys.generation};
  for (const auto& tag : item.tags) {
    counter_keys.push_back(internal::TagGenerationKey(options_.key_prefix, ns, tag.first));
  }
  return counter_keys;
}

absl::Status MemcachedEngine::StampGenerations(memcached_st* memc, absl::string_view ns,
                                               const Keys& keys, MemcachedItem& item,
                                               internal::FetchedItems& items) {
  const std::vector<std::string> counter_keys = GenerationKeys(ns, keys, item);
  for (size_t i = 0; i < counter_keys.size(); ++i) {
    std::optional<uint64_t> generation;
    for (int attempt = 0; attempt < 3 && !generation.has_value(); ++attempt) {
      auto found = items.find(counter_keys[i]);
      if (found != items.end()) {
        generation = internal::ParseGeneration(found->second.value);
        if (!generation.has_value()) return absl::DataLossError("memcached: a bad generation");
        break;
      }
      const uint64_t fresh = RandomGeneration();
      LARDER_ASSIGN_OR_RETURN(internal::StoreOutcome outcome,
                              internal::StoreByKey(memc, keys.entry, counter_keys[i],
                                                   absl::StrCat(fresh), 0, true, std::nullopt));
      if (outcome == internal::StoreOutcome::kStored) {
        generation = fresh;
        items[counter_keys[i]] = internal::FetchedItem{absl::StrCat(fresh), 0};
      } else {
        LARDER_ASSIGN_OR_RETURN(internal::FetchedItems again,
                                internal::GetByKey(memc, keys.entry, counter_keys));
        for (auto& [counter, fetched] : again) items[counter] = std::move(fetched);
      }
    }
    if (!generation.has_value()) return absl::UnavailableError("memcached: a generation churns");
    if (i == 0) item.namespace_generation = *generation;
    if (i > 0) item.tags[i - 1].second = *generation;
  }
  return absl::OkStatus();
}

bool MemcachedEngine::FitsInItem(absl::string_view key, absl::string_view bytes) const {
  return static_cast<int64_t>(bytes.size() + key.size()) + kItemOverheadBytes <=
         options_.max_item_bytes;
}

absl::StatusOr<std::string> MemcachedEngine::Encode(const MemcachedItem& item,
                                                    const Keys& keys) const {
  std::string bytes = internal::EncodeMemcachedItem(item);
  if (!FitsInItem(keys.entry, bytes)) {
    const int64_t size =
        static_cast<int64_t>(bytes.size() + keys.entry.size()) + kItemOverheadBytes;
    return absl::InvalidArgumentError(
        absl::StrCat("value: ", item.value.size(), " bytes make a memcached item of ", size,
                     " bytes with the key, ETag and tags, over --memcached-max-item-bytes (",
                     options_.max_item_bytes, ", memcached's -I)"));
  }
  return bytes;
}

absl::StatusOr<std::optional<StoredEntry>> MemcachedEngine::Get(absl::string_view ns,
                                                                absl::string_view key) {
  const Keys keys = KeysOf(ns, key);
  internal::MemcachedPool::Client client = pool_->Borrow();
  absl::StatusOr<Current> current = ReadCurrent(client.get(), ns, key, keys);
  if (absl::IsUnavailable(current.status())) return std::nullopt;  // Its server is down.
  if (!current.ok()) return current.status();
  if (!current->live) return std::nullopt;
  return StoredEntry{std::move(current->item.value), std::move(current->item.etag),
                     current->item.expires_at};
}

absl::StatusOr<SetResult> MemcachedEngine::Set(absl::string_view ns, absl::string_view key,
                                               absl::string_view value, const SetOptions& options) {
  const Keys keys = KeysOf(ns, key, /*lease_keys=*/true);
  MemcachedItem item;
  item.full_key = internal::FullKey(ns, key);
  item.etag = options.etag;
  item.expires_at = options.expires_at;
  for (const std::string& tag : options.tags) item.tags.emplace_back(tag, 0);
  item.value = std::string(value);
  internal::MemcachedPool::Client client = pool_->Borrow();
  if (options.lease_token.has_value()) {
    return SetWithLease(client.get(), ns, key, keys, item, *options.lease_token);
  }
  std::vector<std::string> read = GenerationKeys(ns, keys, item);
  read.push_back(keys.record);
  LARDER_ASSIGN_OR_RETURN(internal::FetchedItems items,
                          internal::GetByKey(client.get(), keys.entry, read));
  // Void the key's lease (forgetting its stale copy) before writing: memcached_lease.cc.
  if (items.contains(keys.record)) {
    LARDER_RETURN_IF_ERROR(internal::DeleteByKey(client.get(), keys.entry, keys.record).status());
  }
  LARDER_RETURN_IF_ERROR(StampGenerations(client.get(), ns, keys, item, items));
  LARDER_ASSIGN_OR_RETURN(std::string bytes, Encode(item, keys));
  if (options.if_absent || options.if_match.has_value()) {
    return ConditionalSet(client.get(), ns, key, keys, bytes, options);
  }
  LARDER_RETURN_IF_ERROR(internal::StoreByKey(client.get(), keys.entry, keys.entry, bytes,
                                              ExpirationOf(options.expires_at), false, std::nullopt)
                             .status());
  return SetResult{true, options.etag};
}

absl::StatusOr<SetResult> MemcachedEngine::ConditionalSet(memcached_st* memc, absl::string_view ns,
                                                          absl::string_view key, const Keys& keys,
                                                          const std::string& bytes,
                                                          const SetOptions& options) {
  const time_t expiration = ExpirationOf(options.expires_at);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    LARDER_ASSIGN_OR_RETURN(Current current, ReadCurrent(memc, ns, key, keys));
    if (options.if_absent && current.live) return SetResult{false, current.item.etag};
    if (options.if_match.has_value()) {
      if (!current.live) return SetResult{false, ""};
      if (!IfMatchMatches(*options.if_match, current.item.etag)) {
        return SetResult{false, current.item.etag};
      }
    }
    std::optional<uint64_t> cas;
    if (current.present) cas = current.cas;
    LARDER_ASSIGN_OR_RETURN(
        internal::StoreOutcome outcome,
        internal::StoreByKey(memc, keys.entry, keys.entry, bytes, expiration, !cas, cas));
    if (outcome == internal::StoreOutcome::kStored) return SetResult{true, options.etag};
  }
  return absl::UnavailableError("memcached: the key kept changing during a conditional set");
}

absl::StatusOr<bool> MemcachedEngine::Delete(absl::string_view ns, absl::string_view key) {
  const Keys keys = KeysOf(ns, key, /*lease_keys=*/true);
  internal::MemcachedPool::Client client = pool_->Borrow();
  LARDER_ASSIGN_OR_RETURN(Current current, ReadCurrent(client.get(), ns, key, keys, {keys.record}));
  if (delete_read_hook_) delete_read_hook_();
  const bool had_record = current.fetched.contains(keys.record);
  LARDER_ASSIGN_OR_RETURN(
      std::optional<absl::Time> voided,
      VoidLeaseForDelete(client.get(), ns, key, keys, std::move(current.fetched)));
  // Never another key's item. An empty item (an earlier Delete's or an undone Set's) is no one's.
  if (current.present && !current.mine && !current.item.full_key.empty()) return false;
  if (voided.has_value()) {
    // An outstanding lease was voided: an empty item until its end, in place of the entry, makes
    // its holder's add or cas of the entry fail (memcached_lease.cc).
    LARDER_RETURN_IF_ERROR(internal::StoreByKey(client.get(), keys.entry, keys.entry,
                                                internal::EncodeMemcachedItem({}),
                                                ExpirationOf(*voided), false, std::nullopt)
                               .status());
    return current.live;
  }
  // A Set with the token of that record may have stored the entry since the first read and then
  // filled the record (which VoidLeaseForDelete read again): unless that read found this key's
  // item (which the delete below removes whatever replaced it), read the entry again, or that
  // value, leased before this Delete began, would outlive it.
  if (had_record && !current.mine) {
    LARDER_ASSIGN_OR_RETURN(current, ReadCurrent(client.get(), ns, key, keys));
  }
  if (!current.mine) return false;  // Absent, no one's, or another key's.
  LARDER_ASSIGN_OR_RETURN(bool deleted,
                          internal::DeleteByKey(client.get(), keys.entry, keys.entry));
  return deleted && current.live;
}

absl::StatusOr<std::optional<std::string>> MemcachedEngine::Touch(absl::string_view ns,
                                                                  absl::string_view key,
                                                                  absl::Time expires_at) {
  const Keys keys = KeysOf(ns, key, /*lease_keys=*/true);
  internal::MemcachedPool::Client client = pool_->Borrow();
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    LARDER_ASSIGN_OR_RETURN(Current current,
                            ReadCurrent(client.get(), ns, key, keys, {keys.record}));
    if (!current.live) return std::nullopt;
    current.item.expires_at = expires_at;
    LARDER_ASSIGN_OR_RETURN(std::string bytes, Encode(current.item, keys));
    LARDER_ASSIGN_OR_RETURN(internal::StoreOutcome outcome,
                            internal::StoreByKey(client.get(), keys.entry, keys.entry, bytes,
                                                 ExpirationOf(expires_at), false, current.cas));
    if (outcome == internal::StoreOutcome::kStored) {
      MoveStaleExpiry(client.get(), ns, key, keys, current, expires_at);
      return current.item.etag;
    }
  }
  return absl::UnavailableError("memcached: the key kept changing during a touch");
}

absl::StatusOr<int64_t> MemcachedEngine::Invalidate(absl::string_view ns,
                                                    const InvalidateTarget& target) {
  // A call the engine refuses voids no lease.
  LARDER_RETURN_IF_ERROR(CheckInvalidateSupported(*this, target));
  if (target.kind != InvalidateTarget::Kind::kAll && target.kind != InvalidateTarget::Kind::kTag) {
    return absl::InvalidArgumentError("Invalidate: unknown target");
  }
  // Void the namespace's leases first, then hide its entries (memcached_lease.cc).
  std::vector<std::string> missed = VoidLeasesEverywhere(ns);
  IncrementEverywhere(target.kind == InvalidateTarget::Kind::kAll
                          ? internal::NamespaceGenerationKey(options_.key_prefix, ns)
                          : internal::TagGenerationKey(options_.key_prefix, ns, target.argument),
                      missed);
  if (missed.empty()) return 0;
  return absl::UnavailableError(absl::StrCat("memcached: the invalidation did not reach ",
                                             absl::StrJoin(missed, ", "),
                                             " (the other servers have it); retry it"));
}

void MemcachedEngine::IncrementEverywhere(const std::string& key,
                                          std::vector<std::string>& missed) {
  internal::MemcachedPool::Client client = pool_->Borrow();
  for (size_t i = 0; i < pool_->servers().size(); ++i) {
    const std::string name = pool_->servers()[i].Name();
    // A server whose leases were not voided keeps its entries too: void first, then write.
    if (std::find(missed.begin(), missed.end(), name) != missed.end()) continue;
    absl::StatusOr<bool> done = internal::IncrementByKey(client.get(), pool_->group_keys()[i], key);
    if (!done.ok()) missed.push_back(name);
  }
}

void MemcachedEngine::CountExpiration(absl::string_view ns) {
  absl::MutexLock lock(&expirations_mutex_);
  ++expirations_;
  auto found = namespace_expirations_.find(ns);
  if (found != namespace_expirations_.end()) {
    ++found->second;
  } else if (namespace_expirations_.size() < kCountedNamespaces) {
    namespace_expirations_.emplace(std::string(ns), 1);
  }
}

absl::StatusOr<EngineStats> MemcachedEngine::Stats(absl::string_view ns) {
  EngineStats stats;
  {
    absl::MutexLock lock(&expirations_mutex_);
    auto found = namespace_expirations_.find(ns);
    stats.expirations = ns.empty()                              ? expirations_
                        : found == namespace_expirations_.end() ? 0
                                                                : found->second;
  }
  if (!ns.empty()) return stats;
  internal::MemcachedPool::Client client = pool_->Borrow();
  memcached_return_t rc;
  memcached_stat_st* servers = memcached_stat(client.get(), nullptr, &rc);
  if (servers == nullptr) return internal::MemcachedError(client.get(), "stats", rc);
  for (size_t i = 0; i < pool_->servers().size(); ++i) {
    stats.entries += static_cast<int64_t>(servers[i].curr_items);
    stats.bytes += static_cast<int64_t>(servers[i].bytes);
    stats.evictions += static_cast<int64_t>(servers[i].evictions);
  }
  memcached_stat_free(client.get(), servers);
  return stats;
}

absl::Status MemcachedEngine::CheckHealth() {
  internal::MemcachedPool::Client client = pool_->Borrow();
  const std::string probe = absl::StrCat(options_.key_prefix, "health");
  std::vector<std::string> down;
  for (size_t i = 0; i < pool_->servers().size(); ++i) {
    absl::StatusOr<internal::FetchedItems> answer =
        internal::GetByKey(client.get(), pool_->group_keys()[i], {probe});
    if (!answer.ok())
      down.push_back(
          absl::StrCat(pool_->servers()[i].Name(), " (", answer.status().message(), ")"));
  }
  if (down.size() < pool_->servers().size()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("no memcached server answers: ", absl::StrJoin(down, ", ")));
}

absl::StatusOr<NamespaceList> MemcachedEngine::ListNamespaces(absl::string_view after,
                                                              size_t limit) {
  (void)after, (void)limit;
  return absl::FailedPreconditionError(
      "ListNamespaces is not supported by the memcached engine: memcached cannot enumerate keys");
}

void RegisterMemcachedEngine(EngineRegistry& registry) {
  registry.Register("memcached",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine =
                          MemcachedEngine::Create(options.memcached, clock, options.leases);
                      if (!engine.ok()) return std::move(engine).status();
                      return std::unique_ptr<StorageEngine>(*std::move(engine));
                    });
}

}  // namespace larder::storage

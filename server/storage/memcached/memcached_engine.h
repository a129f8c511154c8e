// MemcachedEngine: entries kept in a pool of memcached servers a team already runs, spread over
// them by consistent hashing (ketama), so larder's API, strong ETags, tags and invalidation work
// over that fleet. Several larderds may share the servers.
//
//   MemcachedEngineOptions options{.servers = "10.0.0.5:11211,10.0.0.6:11211"};
//   absl::StatusOr<std::unique_ptr<MemcachedEngine>> engine = MemcachedEngine::Create(options,
//                                                                                  clock);
//
// Layout (memcached_item.h): one item per entry, its value a versioned header (the full
// namespace and key, ETag, expiry by larderd's clock, the generations it was written under) and
// the value. Invalidate{all} and Invalidate{tag} are O(servers): they increment a generation
// counter (of the namespace, of the tag) kept on every server, and an entry written under an
// older generation reads as absent (the memcached namespacing pattern). memcached cannot list
// keys, so Invalidate{prefix|pattern} and ListNamespaces are kFailedPrecondition, Invalidate
// returns 0 (it cannot count), and Stats counts entries and bytes for the whole servers only.
//
// Failures: a server that cannot be reached costs only its keys: reads of them miss, writes are
// kUnavailable; the keys are never moved to another server. CheckHealth is OK while any server
// answers. Costs: Get one round trip to the key's server (two when the entry has tags); Set one
// more (reading the generations; creating a missing one one more); conditional Set, Delete and
// Touch read then write; Invalidate{all|tag} one incr per server; Stats one `stats` per server.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/memcached/memcached_item.h"
#include "server/storage/memcached/memcached_pool.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

// Thread-safe: each call borrows a client of the pool.
class MemcachedEngine final : public StorageEngine {
 public:
  // kInvalidArgument for bad options. The servers need not be up.
  static absl::StatusOr<std::unique_ptr<MemcachedEngine>> Create(
      const MemcachedEngineOptions& options, const Clock& clock);

  absl::string_view name() const override { return "memcached"; }
  EngineCapabilities capabilities() const override;
  bool blocking() const override { return true; }
  // A key whose server cannot be reached is a miss.
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  // Plain: set. if_absent: add (or cas over an item that is not live). if_match: gets, then cas.
  // kInvalidArgument when the item would pass --memcached-max-item-bytes.
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  // gets, then cas of the item with its new expiry.
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // all, tag: one incr of the generation on every server; returns 0 (memcached cannot count).
  // kUnavailable naming the servers not reached (the others are invalidated: retry it).
  // prefix, pattern: kFailedPrecondition.
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // "": memcached's curr_items and bytes summed over the servers that answer (every namespace,
  // and other users of the servers, together; bytes as memcached counts them) and its
  // evictions; expirations found by this larderd. A namespace: zero entries, bytes and
  // evictions; the expirations this larderd found in it.
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  // OK while at least one server answers.
  absl::Status CheckHealth() override;
  // kFailedPrecondition: memcached cannot enumerate keys.
  absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit) override;

 private:
  // What a read found under an entry's memcached key.
  struct Current {
    bool present = false;  // Some item is stored under the key.
    bool mine = false;     // It is this key's (not another's sharing its digest).
    uint64_t cas = 0;
    bool live = false;  // It is this key's entry, not expired, its generations current.
    internal::MemcachedItem item;
  };
  struct Keys {
    std::string entry;       // The entry's memcached key, also the group key of its server.
    std::string generation;  // The namespace generation's key.
  };

  MemcachedEngine(const MemcachedEngineOptions& options, const Clock& clock,
                  std::unique_ptr<internal::MemcachedPool> pool);
  Keys KeysOf(absl::string_view ns, absl::string_view key) const;
  absl::StatusOr<Current> ReadCurrent(memcached_st* memc, absl::string_view ns,
                                      absl::string_view key, const Keys& keys);
  // Whether every tag's generation on the entry's server is the one it was written under.
  absl::StatusOr<bool> TagsCurrent(memcached_st* memc, absl::string_view ns, const Keys& keys,
                                   const internal::MemcachedItem& item);
  // The current generations of the namespace and each tag on the entry's server, creating the
  // missing ones (at a random value, so a counter memcached evicted never comes back at a value
  // old entries carry).
  absl::Status StampGenerations(memcached_st* memc, absl::string_view ns, const Keys& keys,
                                internal::MemcachedItem& item);
  absl::StatusOr<std::string> Encode(const internal::MemcachedItem& item, const Keys& keys) const;
  absl::StatusOr<SetResult> ConditionalSet(memcached_st* memc, absl::string_view ns,
                                           absl::string_view key, const Keys& keys,
                                           const std::string& bytes, const SetOptions& options);
  absl::StatusOr<int64_t> IncrementEverywhere(const std::string& key);
  time_t ExpirationOf(absl::Time expires_at) const;
  uint64_t RandomGeneration();

  const MemcachedEngineOptions options_;
  const Clock& clock_;
  const std::unique_ptr<internal::MemcachedPool> pool_;
  // Expired entries this larderd found and removed, in all and per namespace (the first
  // kCountedNamespaces namespaces; later ones count in the total only).
  void CountExpiration(absl::string_view ns);
  static constexpr size_t kCountedNamespaces = 4096;
  absl::Mutex expirations_mutex_;
  int64_t expirations_ ABSL_GUARDED_BY(expirations_mutex_) = 0;
  absl::flat_hash_map<std::string, int64_t> namespace_expirations_
      ABSL_GUARDED_BY(expirations_mutex_);
  absl::Mutex random_mutex_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mutex_);
};

// Registers "memcached".
void RegisterMemcachedEngine(EngineRegistry& registry);

}  // namespace larder::storage

// MemcachedEngine: entries kept in a pool of memcached servers a team already runs, spread over
// them by consistent hashing (ketama), so larder's API, strong ETags, tags, invalidation and
// leases work over that fleet. Several larderds may share the servers, and then share entries,
// invalidations and leases.
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
// Leases live in memcached too (memcached_lease.h): a record per key beside its entry and a lease
// generation per namespace on every server.
//
// Failures: a server that cannot be reached costs only its keys: reads of them miss (a Lease
// grants nothing), writes are kUnavailable; the keys are never moved to another server.
// CheckHealth is OK while any server answers. Costs (round trips): Get one to the key's server
// (two when the entry has tags); Set one more (reading the generations and the lease record;
// creating a missing generation one more, voiding a lease record one more); conditional Set,
// Delete and Touch read then write (Delete: voiding a lease record one more); Set with a lease
// token five; Lease one, two when it grants; EndLease one, two when it ends; Invalidate{all|tag} a
// set and an incr per server; Stats one `stats` per server.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
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
  // kInvalidArgument for bad options. The servers need not be up. Of `leases`, only grace is
  // read: records are bounded by memcached's memory (-m) and their own expiry, not by
  // max_leases or stale_bytes.
  static absl::StatusOr<std::unique_ptr<MemcachedEngine>> Create(
      const MemcachedEngineOptions& options, const Clock& clock,
      const LeaseOptions& leases = LeaseOptions());

  absl::string_view name() const override { return "memcached"; }
  EngineCapabilities capabilities() const override;
  bool blocking() const override { return true; }
  // A key whose server cannot be reached is a miss.
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  // Plain: set. if_absent: add (or cas over an item that is not live). if_match: gets, then cas.
  // Without a lease token, voids the key's lease record first. With one: memcached_lease.cc.
  // kInvalidArgument when the item would pass --memcached-max-item-bytes.
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  // A live entry (one round trip), or a new lease (one more: add or cas of the record), or wait
  // with the stale value. Never answers "full"; a key whose server is down gets none of them.
  absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                    absl::Duration lease_ttl) override;
  // gets of the record, then cas of it without the lease.
  absl::StatusOr<bool> EndLease(absl::string_view ns, absl::string_view key,
                                absl::string_view token) override;
  // Voids the key's lease record, then removes the entry.
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  // gets, then cas of the item with its new expiry (and of its stale copy's, when kept).
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // all, tag: a new lease generation, then one incr of the generation, on every server; returns
  // 0 (memcached cannot count). kUnavailable naming the servers not reached (the others are
  // invalidated: retry it).
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

  // The steps of a Set with a lease token (memcached_lease.cc), after which a test may run other
  // calls. The hook returns false to stop the Set there, as if its larderd died: the Set then
  // answers kAborted. Set it before any call; tests only.
  enum class LeaseSetStep { kClaimed, kStored, kChecked };
  void SetLeaseSetHookForTesting(absl::AnyInvocable<bool(LeaseSetStep)> hook) {
    lease_set_hook_ = std::move(hook);
  }
  // Runs in each Delete after its first read (of the entry and its lease record), before it voids
  // the lease; a test runs other calls there. Set it before any call; tests only.
  void SetDeleteReadHookForTesting(absl::AnyInvocable<void()> hook) {
    delete_read_hook_ = std::move(hook);
  }

 private:
  // What a read found under an entry's memcached key.
  struct Current {
    bool present = false;  // Some item is stored under the key.
    bool mine = false;     // It is this key's (not another's sharing its digest).
    uint64_t cas = 0;
    bool live = false;  // It is this key's entry, not expired, its generations current.
    internal::MemcachedItem item;
    internal::FetchedItems fetched;  // Everything the read found (the entry, `also`...).
  };
  struct Keys {
    std::string entry;       // The entry's memcached key, also the group key of its server.
    std::string generation;  // The namespace generation's key.
    // With lease keys only: the key's lease record and the namespace's lease generation.
    std::string record;
    std::string lease_generation;
  };
  // A lease record as read.
  struct RecordRead {
    bool present = false;  // Some item is stored under the record's key.
    bool mine = false;     // It is this key's record.
    uint64_t cas = 0;
    internal::MemcachedLeaseRecord record;
  };
  // A lease claimed by a Set with its token.
  struct LeaseClaim {
    internal::MemcachedLeaseRecord record;  // Committing.
    std::string bytes;                      // Its item bytes.
    uint64_t generation = 0;                // The lease generation it was checked under.
  };

  MemcachedEngine(const MemcachedEngineOptions& options, const LeaseOptions& leases,
                  const Clock& clock, std::unique_ptr<internal::MemcachedPool> pool);
  Keys KeysOf(absl::string_view ns, absl::string_view key, bool lease_keys = false) const;
  // One multi-get of the entry, its namespace generation and `also`, then Evaluate.
  absl::StatusOr<Current> ReadCurrent(memcached_st* memc, absl::string_view ns,
                                      absl::string_view key, const Keys& keys,
                                      std::vector<std::string> also = {});
  // What `items` (holding the entry and its namespace generation, when present) say of the entry.
  absl::StatusOr<Current> Evaluate(memcached_st* memc, absl::string_view ns, absl::string_view key,
                                   const Keys& keys, internal::FetchedItems items);
  // Whether every tag's generation on the entry's server is the one it was written under.
  absl::StatusOr<bool> TagsCurrent(memcached_st* memc, absl::string_view ns, const Keys& keys,
                                   const internal::MemcachedItem& item);
  // The keys of the namespace's and each of the item's tags' generations.
  std::vector<std::string> GenerationKeys(absl::string_view ns, const Keys& keys,
                                          const internal::MemcachedItem& item) const;
  // Stamps `item` with the generations of the namespace and each tag found in `items` (read from
  // the entry's server), creating the missing ones (at a random value, so a counter memcached
  // evicted never comes back at a value old entries carry) and adding them to `items`.
  absl::Status StampGenerations(memcached_st* memc, absl::string_view ns, const Keys& keys,
                                internal::MemcachedItem& item, internal::FetchedItems& items);
  absl::StatusOr<std::string> Encode(const internal::MemcachedItem& item, const Keys& keys) const;
  // Whether an item of `bytes` under `key` passes --memcached-max-item-bytes.
  bool FitsInItem(absl::string_view key, absl::string_view bytes) const;
  absl::StatusOr<SetResult> ConditionalSet(memcached_st* memc, absl::string_view ns,
                                           absl::string_view key, const Keys& keys,
                                           const std::string& bytes, const SetOptions& options);
  // incr of `key` on every server not in `missed`; adds the servers it misses to `missed`.
  void IncrementEverywhere(const std::string& key, std::vector<std::string>& missed);
  time_t ExpirationOf(absl::Time expires_at) const;
  uint64_t RandomGeneration();

  // Leases (memcached_lease.cc).
  absl::StatusOr<std::optional<LeaseResult>> LeaseOnce(memcached_st* memc, absl::string_view ns,
                                                       absl::string_view key, const Keys& keys,
                                                       absl::Duration lease_ttl);
  // The namespace's lease generation on the entry's server (in `items`, else created).
  absl::StatusOr<internal::LeaseGeneration> LeaseGenerationOf(memcached_st* memc, const Keys& keys,
                                                              const internal::FetchedItems& items);
  absl::StatusOr<RecordRead> RecordOf(const internal::FetchedItems& items, absl::string_view ns,
                                      absl::string_view key, const Keys& keys) const;
  time_t RecordExpiration(const internal::MemcachedLeaseRecord& record) const;
  // The lease generation `read` was granted under, when it is this key's record holding the
  // current, not yet committing lease of `token` by the generation in `items`; else nullopt.
  std::optional<uint64_t> HeldGeneration(const RecordRead& read,
                                         const internal::FetchedItems& items, const Keys& keys,
                                         absl::string_view token) const;
  absl::StatusOr<SetResult> SetWithLease(memcached_st* memc, absl::string_view ns,
                                         absl::string_view key, const Keys& keys,
                                         internal::MemcachedItem& item, const std::string& token);
  absl::StatusOr<internal::FetchedItems> ReadForLeaseSet(memcached_st* memc, absl::string_view ns,
                                                         const Keys& keys,
                                                         internal::MemcachedItem& item);
  absl::StatusOr<std::optional<LeaseClaim>> ClaimLease(memcached_st* memc, absl::string_view ns,
                                                       absl::string_view key, const Keys& keys,
                                                       const internal::FetchedItems& items,
                                                       const std::string& token);
  absl::StatusOr<bool> StoreLeased(memcached_st* memc, const Keys& keys, const LeaseClaim& claim,
                                   const internal::MemcachedItem& item, const std::string& bytes,
                                   internal::FetchedItems items);
  absl::StatusOr<SetResult> FinishLeaseSet(memcached_st* memc, absl::string_view ns,
                                           absl::string_view key, const Keys& keys,
                                           const LeaseClaim& claim,
                                           const internal::MemcachedItem& item);
  absl::Status UndoLeasedStore(memcached_st* memc, const Keys& keys,
                               const internal::MemcachedItem& item, internal::FetchedItems items);
  absl::StatusOr<SetResult> Refusal(memcached_st* memc, absl::string_view ns, absl::string_view key,
                                    const Keys& keys);
  bool LeaseSetStepPasses(LeaseSetStep step);
  // Delete's first step; when it voided an outstanding lease, that lease's end.
  absl::StatusOr<std::optional<absl::Time>> VoidLeaseForDelete(memcached_st* memc,
                                                               absl::string_view ns,
                                                               absl::string_view key,
                                                               const Keys& keys,
                                                               internal::FetchedItems items);
  // After a Touch: the stale copy of the touched value follows its new expiry (best effort).
  void MoveStaleExpiry(memcached_st* memc, absl::string_view ns, absl::string_view key,
                       const Keys& keys, const Current& touched, absl::Time expires_at);
  // Invalidate's first step: a new lease generation of `ns` on every server; the servers missed.
  std::vector<std::string> VoidLeasesEverywhere(absl::string_view ns);

  const MemcachedEngineOptions options_;
  const LeaseOptions leases_;
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
  absl::AnyInvocable<bool(LeaseSetStep)> lease_set_hook_;
  absl::AnyInvocable<void()> delete_read_hook_;
};

// Registers "memcached".
void RegisterMemcachedEngine(EngineRegistry& registry);

}  // namespace larder::storage

// LeaseTable: the leases of the engines that keep data in larderd's process (memory, RocksDB),
// held in larderd beside the engine: who may compute each missing key, which namespaces were
// invalidated since, and a bounded copy of each value stored with a lease (the `stale` a waiter
// is offered once it expired or was removed). LeasingEngine (leasing_engine.h) is its only user.
//
//   LeaseTable table(options);
//   LeaseTable::Locked locked = table.Lock("users", "42");   // one stripe, for one engine call
//   locked.Grant(now + absl::Seconds(5), table.GenerationOf("users"));
//
// Design. Records live in 64 stripes by hash of (namespace, key), each a hash map under its own
// mutex; LeasingEngine holds a key's stripe across its engine call, so checking a lease and
// storing (or voiding it and storing) are one atomic step. Invalidate voids every lease of its
// namespace at once by giving the namespace a new generation: a lease is current only while the
// generation it was granted under is still the namespace's. Bounds: at most max_leases records
// (max_leases / 64 per stripe; a full stripe first drops dead records, then the oldest stale
// copies), stale copies of at most stale_bytes (stale_bytes / 64 per stripe, oldest dropped
// first), at most kMaxTrackedNamespaces generations (beyond, every lease is voided at once).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/engine_options.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

// 16 bytes from the kernel's CSPRNG (getrandom) as 32 lowercase hex characters: a lease token,
// which must not be guessable (a guessed token stores over another caller's lease). Thread-safe.
std::string NewLeaseToken();

class LeaseTable {
 public:
  static constexpr int kStripes = 64;
  static constexpr size_t kMaxTrackedNamespaces = 65536;

  // The lease state of one key, as the table keeps it.
  struct Record {
    std::string token;  // Empty: no lease (ended, voided or never granted).
    absl::Time lease_until;
    uint64_t generation = 0;  // The namespace's generation when granted.
    // The value last stored with a lease token, while kept.
    std::optional<StoredEntry> stale;
    uint64_t stale_generation = 0;  // The namespace's generation when stored.
    absl::Time stale_removed_at = absl::InfiniteFuture();  // When a Delete removed it.
    uint64_t stale_sequence = 0;                           // Its place in the stripe's FIFO.
  };

 private:
  struct Stripe {
    absl::Mutex mutex;
    absl::flat_hash_map<std::string, Record> records ABSL_GUARDED_BY(mutex);
    // Keys in the order their stale copies were made, with the copy's sequence (stale entries
    // whose record moved on are skipped when popped).
    std::deque<std::pair<std::string, uint64_t>> stale_order ABSL_GUARDED_BY(mutex);
    int64_t stale_bytes ABSL_GUARDED_BY(mutex) = 0;
    uint64_t next_sequence ABSL_GUARDED_BY(mutex) = 0;
  };

 public:
  explicit LeaseTable(const LeaseOptions& options);

  // One key's stripe, locked for as long as this lives. `ns` and `key` must outlive it.
  class Locked {
   public:
    // Locks `stripe` (returned by value from Lock, so the analysis cannot follow it: every method
    // touching the stripe's records is checked by hand instead).
    Locked(LeaseTable& table, Stripe& stripe, absl::string_view ns,
           absl::string_view key) ABSL_NO_THREAD_SAFETY_ANALYSIS;
    ~Locked() ABSL_NO_THREAD_SAFETY_ANALYSIS;
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

    // The key's record, or null.
    Record* Find();
    // True when the key has a lease granted under `generation` that lasts past `now`.
    bool Current(uint64_t generation, absl::Time now);
    // True when that current lease is the one of `token`.
    bool CurrentWith(absl::string_view token, uint64_t generation, absl::Time now);
    // The kept stale value, when it is still offered at `now`.
    std::optional<StoredEntry> Stale(uint64_t generation, absl::Time invalidated_at,
                                     absl::Time now);
    // A new lease until `lease_until`; its token, or empty when the stripe is full.
    std::string Grant(absl::Time lease_until, uint64_t generation, absl::Time now);
    // Ends the lease and keeps `value` as the key's stale candidate (when grace allows).
    void Fill(absl::string_view value, const StoredEntry& entry, uint64_t generation);
    // A Delete: voids the lease; the stale candidate counts as removed at `now`.
    void VoidForDelete(absl::Time now);
    // A Set without token: forgets the record.
    void Forget();
    // Ends the lease without a value (EndLease): the stale candidate stays.
    void End();
    // A Touch moved the entry's expiry.
    void MoveExpiry(absl::Time expires_at);

   private:
    // The record's key, built on first use: a Set on a stripe without records builds none.
    const std::string& Id();

    LeaseTable& table_;
    Stripe& stripe_;
    const absl::string_view ns_, key_;  // The caller's: they outlive this.
    std::string id_;
  };

  Locked Lock(absl::string_view ns, absl::string_view key);
  // The stripes of `keys` (of one namespace), each locked once, in a fixed order.
  std::vector<std::unique_ptr<absl::MutexLock>> LockAll(absl::string_view ns,
                                                        const std::vector<absl::string_view>& keys);
  // Forgets the records of `keys` (a MultiSet): call with LockAll held.
  void ForgetAll(absl::string_view ns, const std::vector<absl::string_view>& keys);

  // The namespace's current generation, and when it was last invalidated.
  uint64_t GenerationOf(absl::string_view ns) ABSL_LOCKS_EXCLUDED(namespaces_mutex_);
  absl::Time InvalidatedAt(absl::string_view ns) ABSL_LOCKS_EXCLUDED(namespaces_mutex_);
  // An Invalidate of `ns` at `now`: voids every lease of the namespace.
  void NewGeneration(absl::string_view ns, absl::Time now) ABSL_LOCKS_EXCLUDED(namespaces_mutex_);

  // Records held, over every stripe (for tests and metrics).
  int64_t RecordCount();
  int64_t StaleBytes();

 private:
  struct NamespaceState {
    uint64_t generation = 0;
    absl::Time invalidated_at = absl::InfinitePast();
  };

  static std::string IdOf(absl::string_view ns, absl::string_view key);
  Stripe& StripeOf(absl::string_view ns, absl::string_view key);
  // Drops the stale copy of `record` (keyed `id`) from the stripe's accounting.
  void DropStaleLocked(Stripe& stripe, Record& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mutex);
  // Drops the oldest stale copies until the stripe's copies fit `budget` bytes; erases records
  // left with nothing.
  void ShrinkStaleLocked(Stripe& stripe, int64_t budget, absl::string_view keep)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mutex);
  // Drops FIFO positions of stale copies that were replaced, once they pile up.
  void CompactStaleOrderLocked(Stripe& stripe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mutex);
  // Makes room for one more record; false when the stripe stays full.
  bool MakeRoomLocked(Stripe& stripe, absl::Time now, absl::string_view keep)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mutex);
  bool DeadLocked(const Record& record, absl::Time now) const;

  const LeaseOptions options_;
  const size_t records_per_stripe_;
  const int64_t stale_bytes_per_stripe_;
  Stripe stripes_[kStripes];

  absl::Mutex namespaces_mutex_;
  absl::flat_hash_map<std::string, NamespaceState> namespaces_ ABSL_GUARDED_BY(namespaces_mutex_);
  // The generation of every namespace not in namespaces_ (raised when that map is cleared).
  uint64_t floor_generation_ ABSL_GUARDED_BY(namespaces_mutex_) = 0;
  absl::Time floor_invalidated_at_ ABSL_GUARDED_BY(namespaces_mutex_) = absl::InfinitePast();
  uint64_t next_generation_ ABSL_GUARDED_BY(namespaces_mutex_) = 1;
};

}  // namespace larder::storage

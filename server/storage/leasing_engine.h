// LeasingEngine: gives an engine that keeps its data in larderd's process (memory, RocksDB) the
// Lease call, with a LeaseTable beside it. Every call is the wrapped engine's; Lease, Set,
// MultiSet, Delete, Touch and Invalidate also keep the lease table in step with it.
//
//   std::unique_ptr<StorageEngine> engine = WithLeases(*MemoryEngine::Create(...), leases, clock);
//   absl::StatusOr<LeaseResult> lease = engine->Lease("users", "42", absl::Seconds(5));
//
// Atomicity: a key's lease stripe is held across the wrapped engine's call, so "the lease is
// still current, store" (Set with token) and "void the lease, store" (Set without) never
// interleave for one key; the engine's own locks are taken inside the stripe's, always in that
// order. An Invalidate voids every lease of its namespace before it removes anything, so a value
// computed under a lease granted before the Invalidate began is refused, and one granted after
// it began was computed after the data it invalidates changed.
#pragma once

#include <memory>

#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/forwarding_engine.h"
#include "server/storage/lease_table.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

// `engine` with leases kept in larderd (see above).
std::unique_ptr<StorageEngine> WithLeases(std::unique_ptr<StorageEngine> engine,
                                          const LeaseOptions& options, const Clock& clock);

class LeasingEngine final : public ForwardingEngine {
 public:
  LeasingEngine(std::unique_ptr<StorageEngine> engine, const LeaseOptions& options,
                const Clock& clock)
      : ForwardingEngine(std::move(engine)), clock_(clock), leases_(options) {}

  absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                    absl::Duration lease_ttl) override;
  absl::StatusOr<bool> EndLease(absl::string_view ns, absl::string_view key,
                                absl::string_view token) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                  const std::vector<SetItem>& items) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;

  LeaseTable& lease_table() { return leases_; }

 private:
  // Set with a lease token, under the key's stripe.
  absl::StatusOr<SetResult> SetWithLease(LeaseTable::Locked& locked, absl::string_view ns,
                                         absl::string_view key, absl::string_view value,
                                         const SetOptions& options);

  const Clock& clock_;
  LeaseTable leases_;
};

}  // namespace larder::storage

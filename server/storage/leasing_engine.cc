#include "server/storage/leasing_engine.h"

#include <utility>

namespace larder::storage {

std::unique_ptr<StorageEngine> WithLeases(std::unique_ptr<StorageEngine> engine,
                                          const LeaseOptions& options, const Clock& clock) {
  return std::make_unique<LeasingEngine>(std::move(engine), options, clock);
}

absl::StatusOr<LeaseResult> LeasingEngine::Lease(absl::string_view ns, absl::string_view key,
                                                 absl::Duration lease_ttl) {
  LeaseTable::Locked locked = leases_.Lock(ns, key);
  absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
  if (!entry.ok()) return std::move(entry).status();
  LeaseResult result;
  if (entry->has_value()) {
    result.entry = *std::move(entry);
    return result;
  }
  const absl::Time now = clock_.Now();
  const uint64_t generation = leases_.GenerationOf(ns);
  if (locked.Current(generation, now)) {
    result.wait = true;
    result.stale = locked.Stale(generation, leases_.InvalidatedAt(ns), now);
    return result;
  }
  result.token = locked.Grant(now + lease_ttl, generation, now);
  return result;
}

absl::StatusOr<bool> LeasingEngine::EndLease(absl::string_view ns, absl::string_view key,
                                             absl::string_view token) {
  LeaseTable::Locked locked = leases_.Lock(ns, key);
  if (!locked.CurrentWith(token, leases_.GenerationOf(ns), clock_.Now())) return false;
  locked.End();
  return true;
}

absl::StatusOr<SetResult> LeasingEngine::SetWithLease(LeaseTable::Locked& locked,
                                                      absl::string_view ns, absl::string_view key,
                                                      absl::string_view value,
                                                      const SetOptions& options) {
  const uint64_t generation = leases_.GenerationOf(ns);
  if (!locked.CurrentWith(*options.lease_token, generation, clock_.Now())) {
    absl::StatusOr<std::optional<StoredEntry>> current = engine_->Get(ns, key);
    if (!current.ok()) return std::move(current).status();
    return SetResult{false, current->has_value() ? (*current)->etag : std::string()};
  }
  absl::StatusOr<SetResult> stored = engine_->Set(ns, key, value, options);
  if (stored.ok() && stored->stored) {
    locked.Fill(value, StoredEntry{std::string(), options.etag, options.expires_at}, generation);
  }
  return stored;
}

absl::StatusOr<SetResult> LeasingEngine::Set(absl::string_view ns, absl::string_view key,
                                             absl::string_view value, const SetOptions& options) {
  LeaseTable::Locked locked = leases_.Lock(ns, key);
  if (options.lease_token.has_value()) return SetWithLease(locked, ns, key, value, options);
  locked.Forget();
  return engine_->Set(ns, key, value, options);
}

absl::StatusOr<std::vector<SetResult>> LeasingEngine::MultiSet(absl::string_view ns,
                                                               const std::vector<SetItem>& items) {
  std::vector<absl::string_view> keys;
  keys.reserve(items.size());
  for (const SetItem& item : items) keys.push_back(item.key);
  auto locks = leases_.LockAll(ns, keys);
  leases_.ForgetAll(ns, keys);
  return engine_->MultiSet(ns, items);
}

absl::StatusOr<bool> LeasingEngine::Delete(absl::string_view ns, absl::string_view key) {
  LeaseTable::Locked locked = leases_.Lock(ns, key);
  locked.VoidForDelete(clock_.Now());
  return engine_->Delete(ns, key);
}

absl::StatusOr<std::optional<std::string>> LeasingEngine::Touch(absl::string_view ns,
                                                                absl::string_view key,
                                                                absl::Time expires_at) {
  LeaseTable::Locked locked = leases_.Lock(ns, key);
  absl::StatusOr<std::optional<std::string>> touched = engine_->Touch(ns, key, expires_at);
  if (touched.ok() && touched->has_value()) locked.MoveExpiry(expires_at);
  return touched;
}

absl::StatusOr<int64_t> LeasingEngine::Invalidate(absl::string_view ns,
                                                  const InvalidateTarget& target) {
  // A call the engine refuses voids no lease.
  if (absl::Status supported = CheckInvalidateSupported(*engine_, target); !supported.ok()) {
    return supported;
  }
  leases_.NewGeneration(ns, clock_.Now());
  return engine_->Invalidate(ns, target);
}

}  // namespace larder::storage

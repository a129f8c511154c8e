// The pure rules on a memcached lease record (declared in memcached_lease.h): what is current,
// what is offered stale, and what each call leaves in the record. MemcachedEngine's calls
// (memcached_lease.cc) store what these return; memcached_lease_rules_test.cc checks them alone.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "server/storage/memcached/memcached_lease.h"

namespace larder::storage {
namespace internal {

bool LeaseIsCurrent(const MemcachedLeaseRecord& record, uint64_t generation, absl::Time now) {
  return !record.token.empty() && record.lease_until > now && record.generation == generation;
}

std::optional<StoredEntry> OfferedStale(const MemcachedLeaseRecord& record,
                                        const LeaseGeneration& generation, absl::Duration grace,
                                        absl::Time now) {
  if (!record.stale.has_value()) return std::nullopt;
  const MemcachedLeaseRecord::Stale& stale = *record.stale;
  // When the value stopped being live: its expiry, its Delete, or the namespace's invalidation.
  absl::Time gone = std::min(stale.expires_at, stale.removed_at);
  if (stale.generation != generation.id) gone = std::min(gone, generation.changed_at);
  // Missing while it should still live (evicted): it went just now.
  if (gone > now) gone = now;
  const absl::Time until = gone + grace;
  if (until <= now) return std::nullopt;
  return StoredEntry{stale.value, stale.etag, until};
}

absl::Time RecordKeptUntil(const MemcachedLeaseRecord& record, absl::Duration grace) {
  absl::Time until = record.token.empty() ? absl::InfinitePast() : record.lease_until;
  if (record.stale.has_value() && grace > absl::ZeroDuration()) {
    until = std::max(until, std::min(record.stale->expires_at, record.stale->removed_at) + grace);
  }
  return until;
}

MemcachedLeaseRecord GrantedRecord(const MemcachedLeaseRecord* existing, absl::string_view full_key,
                                   std::string token, absl::Time lease_until,
                                   const LeaseGeneration& generation, absl::Duration grace,
                                   absl::Time now) {
  MemcachedLeaseRecord record;
  if (existing != nullptr && OfferedStale(*existing, generation, grace, now).has_value()) {
    record.stale = existing->stale;
  }
  record.full_key = std::string(full_key);
  record.token = std::move(token);
  record.lease_until = lease_until;
  record.generation = generation.id;
  return record;
}

MemcachedLeaseRecord CommittingRecord(MemcachedLeaseRecord granted) {
  granted.committing = true;
  return granted;
}

MemcachedLeaseRecord EndedRecord(MemcachedLeaseRecord record) {
  record.token.clear();
  record.committing = false;
  record.lease_until = absl::InfinitePast();
  return record;
}

MemcachedLeaseRecord FilledRecord(MemcachedLeaseRecord committing, const MemcachedItem& item,
                                  uint64_t generation, bool keep_copy) {
  MemcachedLeaseRecord filled = EndedRecord(std::move(committing));
  filled.stale.reset();
  if (keep_copy) {
    filled.stale = MemcachedLeaseRecord::Stale{item.value, item.etag, item.expires_at, generation,
                                               absl::InfiniteFuture()};
  }
  return filled;
}

std::optional<MemcachedLeaseRecord> VoidedForDelete(MemcachedLeaseRecord record, absl::Time now) {
  if (record.committing) record.stale.reset();
  MemcachedLeaseRecord voided = EndedRecord(std::move(record));
  if (!voided.stale.has_value()) return std::nullopt;
  voided.stale->removed_at = std::min(voided.stale->removed_at, now);
  return voided;
}

}  // namespace internal

}  // namespace larder::storage

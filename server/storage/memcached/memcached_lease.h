// Leases of the memcached engine, kept in memcached beside the entries so that every larderd on
// the same servers shares them: one replica's Lease makes the others wait, and the holder may
// store through any replica. The rules are the ones of LeasingEngine (leasing_engine.h), which
// the conformance suite holds every engine to; only where they live differs.
//
// Layout (memcached_item.h):
// - a lease record per key, <prefix>l:<ns>:<key> (or <prefix>lh:<digest>), stored "by key" with
//   the entry's key as group key, so it lives on the entry's server: the lease's token, end and
//   generation, and the stale copy of the value last stored with a token. Its memcached expiry is
//   the later of the lease's end and the copy's last offered moment, plus one second.
// - a lease generation per namespace, <prefix>lg:<ns>, "<random id>:<unix micros>", on every
//   server. Every Invalidate of the namespace sets a new one everywhere before it hides anything;
//   a lease is current only while its generation is the one on its entry's server. Created
//   (add) at a random id when missing, so one memcached evicted never comes back at an old id.
//
// How each call keeps the rules without a transaction across items is in memcached_lease.cc.
// Below: the pure rules on a record, shared by the engine and its tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/memcached/memcached_item.h"
#include "server/storage/storage_engine.h"

namespace larder::storage::internal {

// True when `record` holds a lease granted under lease generation `generation` that lasts past
// `now` (committing or not: until its Set ends it, others wait).
bool LeaseIsCurrent(const MemcachedLeaseRecord& record, uint64_t generation, absl::Time now);

// The stale value offered to a waiter at `now`, when `grace` allows: the copy, until `grace` after
// it stopped being live (its expiry, its Delete, or the namespace's invalidation when it was
// stored under another lease generation; just now when it went otherwise, e.g. evicted). Its
// expires_at is that end.
std::optional<StoredEntry> OfferedStale(const MemcachedLeaseRecord& record,
                                        const LeaseGeneration& generation, absl::Duration grace,
                                        absl::Time now);

// Until when `record` serves anything (its lease, its copy): InfinitePast when nothing.
absl::Time RecordKeptUntil(const MemcachedLeaseRecord& record, absl::Duration grace);

// A new lease of `full_key` until `lease_until` under `generation`, replacing `existing` (null
// when none) and keeping its stale copy while that may still be offered.
MemcachedLeaseRecord GrantedRecord(const MemcachedLeaseRecord* existing, absl::string_view full_key,
                                   std::string token, absl::Time lease_until,
                                   const LeaseGeneration& generation, absl::Duration grace,
                                   absl::Time now);

// `granted` claimed by a Set with its token, before that Set stores.
MemcachedLeaseRecord CommittingRecord(MemcachedLeaseRecord granted);

// `committing` once its Set has stored `item`: the lease ended, `item` kept as the stale copy
// (stored under lease generation `generation`) when `keep_copy`, else none.
MemcachedLeaseRecord FilledRecord(MemcachedLeaseRecord committing, const MemcachedItem& item,
                                  uint64_t generation, bool keep_copy);

// `record` after a Delete at `now`: no lease, its copy removed at `now` (dropped when a Set was
// committing: it may store a newer value than the copy); nullopt when nothing is left to keep.
std::optional<MemcachedLeaseRecord> VoidedForDelete(MemcachedLeaseRecord record, absl::Time now);

// `record` after EndLease: no lease, its copy kept.
MemcachedLeaseRecord EndedRecord(MemcachedLeaseRecord record);

}  // namespace larder::storage::internal

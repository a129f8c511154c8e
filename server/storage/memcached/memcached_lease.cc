// MemcachedEngine's leases (layout and rules: memcached_lease.h). memcached offers no transaction
// across items, only atomic operations on one item (add, cas, set, delete), in one order per
// server; an entry (E), its lease record (R) and the namespace's lease generation (LG) and
// generation (G) live on one server. The calls, each a few of those operations in this order:
//
//   Lease       read {E, G, R, LG}; a live E is the answer; a current lease in R: wait; else
//               grant: cas R (add when absent), a lost race reads again.
//   Set, token  A  read {E, G, tag generations, R, LG} (creating missing generations first);
//                  refuse unless R holds the token, current, not committing, under LG.
//               A' cas R to committing (refused: R changed since A; refuse).
//               B  before the lease's end by this larderd's clock, add E (absent at A) or cas it
//                  (its CAS from A): the value, stamped with the generations read at A. Refused
//                  (E changed): read {E, R, LG} again and, while R and LG are still as A' left
//                  them, retry; else refuse.
//               C  read {E, R, LG}; when R is no longer what A' wrote or LG changed: undo (remove
//                  E by cas while it holds this value) and refuse.
//               D  cas R to filled (lease ended, the value as stale copy); answer stored. A
//                  refused cas here means a voider came after C: its write supersedes ours.
//   Set         (each MultiSet item too) P1 read R with the generations and delete it when
//               present; P2 store E.
//   Delete      D1 void R (cas: no token, its copy marked removed; delete it when nothing is
//               left to keep); D2 delete E, or when D1 voided an outstanding lease set E to an
//               empty item that lives until that lease's end. An empty item is no one's: D2
//               writes over it. When R was there at Delete's first read, D2 reads E again
//               first: a Set with R's token may have stored E and filled R since that read.
//   Invalidate  I1 set LG to a new random id on every server; I2 incr G (or the tag's
//               generation) on every server.
//   EndLease    read {R, LG}; unless R holds the token, current, not committing, under LG: nothing;
//               else cas R to no lease (its copy kept), a lost race reads again. Like a void, it
//               never writes E, and a Set with the token claims R first (A') or finds it changed.
//
// Why no stale value survives. A stale value is a value v stored with a token T after a voider V
// (Set P, Delete, Invalidate) whose first step came after T was granted; it survives when it is
// live after V has completed. Take any such V and S, the Set with T storing v.
// - V's first step before S's A: A finds R without T (P1 deleted it, D1 cleared it) or LG no
//   longer R's generation (I1): S refuses and never writes E.
// - Between A and A': R changed (P1, D1), so A' is refused and S never writes E; or LG changed
//   (I1): see Invalidate below.
// - P1 after A': if P2 lands before B, E changed since S read it, so B is refused, and the read
//   again finds R gone: S never writes E. Otherwise P2 comes after B and overwrites v.
// - D1 after A': if D2 lands before B, E changed since S read it (deleted, or set to the empty
//   item, which outlives T's end, after which S does not try B): B is refused and S never writes
//   E. Otherwise D2 comes after B and removes v (D2 reads E after D1, so it sees v even when D1
//   found R already filled by S's D).
// - I1 after A: I2 comes after I1, so after A, and v carries the generations read at A, which
//   I2 makes old: v is not live once V has completed (C also removes it early when I1 came
//   before C).
// In each case v is gone once V has completed, whatever S does after: these hold even when S
// stops for good between two steps (its larderd dies), except that an E created by S's B after
// D2's empty item expired relies on C; the empty item lives one second past T's end, and S never
// tries B past it by its own clock, so only a clock skew above a second between replicas opens
// that window. A new grant after T expired changes R, so C refuses too (and that lease's holder
// overwrites v).
// At most one Set stores per token: A' is a cas from the granted record, so one claimant wins and
// the committing record then refuses the others.
#include "server/storage/memcached/memcached_lease.h"

#include <algorithm>
#include <utility>

#include "larder/common/status_macros.h"
#include "server/storage/lease_table.h"
#include "server/storage/memcached/memcached_calls.h"
#include "server/storage/memcached/memcached_engine.h"

namespace larder::storage {
namespace {

using internal::FetchedItems;
using internal::MemcachedItem;
using internal::MemcachedLeaseRecord;
using internal::StoreOutcome;

// Reads again after a lost race this often before answering kUnavailable.
constexpr int kLeaseAttempts = 8;

}  // namespace

absl::StatusOr<LeaseResult> MemcachedEngine::Lease(absl::string_view ns, absl::string_view key,
                                                   absl::Duration lease_ttl) {
  const Keys keys = KeysOf(ns, key, /*lease_keys=*/true);
  internal::MemcachedPool::Client client = pool_->Borrow();
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    LARDER_ASSIGN_OR_RETURN(std::optional<LeaseResult> result,
                            LeaseOnce(client.get(), ns, key, keys, lease_ttl));
    if (result.has_value()) return *std::move(result);
  }
  return absl::UnavailableError("memcached: the key's lease record kept changing during a lease");
}

absl::StatusOr<std::optional<LeaseResult>> MemcachedEngine::LeaseOnce(memcached_st* memc,
                                                                      absl::string_view ns,
                                                                      absl::string_view key,
                                                                      const Keys& keys,
                                                                      absl::Duration lease_ttl) {
  absl::StatusOr<Current> current =
      ReadCurrent(memc, ns, key, keys, {keys.record, keys.lease_generation});
  if (absl::IsUnavailable(current.status())) return LeaseResult{};  // Its server is down.
  if (!current.ok()) return current.status();
  LeaseResult result;
  if (current->live) {
    result.entry = StoredEntry{std::move(current->item.value), std::move(current->item.etag),
                               current->item.expires_at};
    return result;
  }
  LARDER_ASSIGN_OR_RETURN(internal::LeaseGeneration generation,
                          LeaseGenerationOf(memc, keys, current->fetched));
  LARDER_ASSIGN_OR_RETURN(RecordRead read, RecordOf(current->fetched, ns, key, keys));
  const absl::Time now = clock_.Now();
  if (read.mine && internal::LeaseIsCurrent(read.record, generation.id, now)) {
    result.wait = true;
    result.stale = internal::OfferedStale(read.record, generation, leases_.grace, now);
    return result;
  }
  MemcachedLeaseRecord granted =
      internal::GrantedRecord(read.mine ? &read.record : nullptr, internal::FullKey(ns, key),
                              NewLeaseToken(), now + lease_ttl, generation, leases_.grace, now);
  std::optional<uint64_t> cas;
  if (read.present) cas = read.cas;
  LARDER_ASSIGN_OR_RETURN(
      StoreOutcome outcome,
      internal::StoreByKey(memc, keys.entry, keys.record, internal::EncodeLeaseRecord(granted),
                           RecordExpiration(granted), !cas, cas));
  if (outcome != StoreOutcome::kStored) return std::nullopt;  // Lost a race: read again.
  result.token = std::move(granted.token);
  return result;
}

absl::StatusOr<internal::LeaseGeneration> MemcachedEngine::LeaseGenerationOf(
    memcached_st* memc, const Keys& keys, const FetchedItems& items) {
  FetchedItems again;
  const FetchedItems* read = &items;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto found = read->find(keys.lease_generation);
    if (found != read->end()) {
      std::optional<internal::LeaseGeneration> generation =
          internal::ParseLeaseGeneration(found->second.value);
      if (!generation.has_value()) return absl::DataLossError("memcached: a bad lease generation");
      return *generation;
    }
    // None (never invalidated, or evicted): a random id, changed at an unknown time.
    const internal::LeaseGeneration fresh{RandomGeneration(), absl::UnixEpoch()};
    LARDER_ASSIGN_OR_RETURN(
        StoreOutcome outcome,
        internal::StoreByKey(memc, keys.entry, keys.lease_generation,
                             internal::EncodeLeaseGeneration(fresh), 0, true, std::nullopt));
    if (outcome == StoreOutcome::kStored) return fresh;
    LARDER_ASSIGN_OR_RETURN(again, internal::GetByKey(memc, keys.entry, {keys.lease_generation}));
    read = &again;
  }
  return absl::UnavailableError("memcached: a lease generation churns");
}

absl::StatusOr<MemcachedEngine::RecordRead> MemcachedEngine::RecordOf(const FetchedItems& items,
                                                                      absl::string_view ns,
                                                                      absl::string_view key,
                                                                      const Keys& keys) const {
  RecordRead read;
  auto found = items.find(keys.record);
  if (found == items.end()) return read;
  read.present = true;
  read.cas = found->second.cas;
  LARDER_ASSIGN_OR_RETURN(read.record, internal::DecodeLeaseRecord(found->second.value));
  // Another key's (sharing a digest): no lease of this key, and overwriting it only voids its.
  read.mine = read.record.full_key == internal::FullKey(ns, key);
  return read;
}

std::optional<uint64_t> MemcachedEngine::HeldGeneration(const RecordRead& read,
                                                        const FetchedItems& items, const Keys& keys,
                                                        absl::string_view token) const {
  auto found = items.find(keys.lease_generation);
  if (!read.mine || found == items.end()) return std::nullopt;
  std::optional<internal::LeaseGeneration> generation =
      internal::ParseLeaseGeneration(found->second.value);
  if (!generation.has_value() || read.record.token != token || read.record.committing ||
      !internal::LeaseIsCurrent(read.record, generation->id, clock_.Now())) {
    return std::nullopt;
  }
  return generation->id;
}

time_t MemcachedEngine::RecordExpiration(const MemcachedLeaseRecord& record) const {
  return ExpirationOf(internal::RecordKeptUntil(record, leases_.grace));
}

bool MemcachedEngine::LeaseSetStepPasses(LeaseSetStep step) {
  return !lease_set_hook_ || lease_set_hook_(step);
}

absl::StatusOr<SetResult> MemcachedEngine::SetWithLease(memcached_st* memc, absl::string_view ns,
                                                        absl::string_view key, const Keys& keys,
                                                        MemcachedItem& item,
                                                        const std::string& token) {
  const absl::Status aborted = absl::AbortedError("memcached: stopped by the test hook");
  LARDER_ASSIGN_OR_RETURN(FetchedItems items, ReadForLeaseSet(memc, ns, keys, item));  // A
  LARDER_ASSIGN_OR_RETURN(std::string bytes, Encode(item, keys));
  LARDER_ASSIGN_OR_RETURN(std::optional<LeaseClaim> claim,
                          ClaimLease(memc, ns, key, keys, items, token));  // A'
  if (!claim.has_value()) {
    LARDER_ASSIGN_OR_RETURN(Current current, Evaluate(memc, ns, key, keys, std::move(items)));
    return SetResult{false, current.live ? current.item.etag : std::string()};
  }
  if (!LeaseSetStepPasses(LeaseSetStep::kClaimed)) return aborted;
  LARDER_ASSIGN_OR_RETURN(bool stored,
                          StoreLeased(memc, keys, *claim, item, bytes, std::move(items)));  // B
  if (!stored) return Refusal(memc, ns, key, keys);
  if (!LeaseSetStepPasses(LeaseSetStep::kStored)) return aborted;
  return FinishLeaseSet(memc, ns, key, keys, *claim, item);  // C, D
}

absl::StatusOr<FetchedItems> MemcachedEngine::ReadForLeaseSet(memcached_st* memc,
                                                              absl::string_view ns,
                                                              const Keys& keys,
                                                              MemcachedItem& item) {
  std::vector<std::string> read = GenerationKeys(ns, keys, item);
  const size_t counters = read.size();
  read.insert(read.end(), {keys.entry, keys.record, keys.lease_generation});
  for (int attempt = 0; attempt < 3; ++attempt) {
    LARDER_ASSIGN_OR_RETURN(FetchedItems items, internal::GetByKey(memc, keys.entry, read));
    // The generations stamped must be read here, before the claim (see the top of this file):
    // a missing one is created, then everything is read again.
    const bool all =
        std::all_of(read.begin(), read.begin() + counters,
                    [&](const std::string& counter) { return items.contains(counter); });
    LARDER_RETURN_IF_ERROR(StampGenerations(memc, ns, keys, item, items));
    if (all) return items;
  }
  return absl::UnavailableError("memcached: a generation churns");
}

absl::StatusOr<std::optional<MemcachedEngine::LeaseClaim>> MemcachedEngine::ClaimLease(
    memcached_st* memc, absl::string_view ns, absl::string_view key, const Keys& keys,
    const FetchedItems& items, const std::string& token) {
  LARDER_ASSIGN_OR_RETURN(RecordRead read, RecordOf(items, ns, key, keys));
  const std::optional<uint64_t> generation = HeldGeneration(read, items, keys, token);
  if (!generation.has_value()) return std::nullopt;
  LeaseClaim claim;
  claim.generation = *generation;
  claim.record = internal::CommittingRecord(std::move(read.record));
  claim.bytes = internal::EncodeLeaseRecord(claim.record);
  LARDER_ASSIGN_OR_RETURN(StoreOutcome outcome,
                          internal::StoreByKey(memc, keys.entry, keys.record, claim.bytes,
                                               RecordExpiration(claim.record), false, read.cas));
  if (outcome != StoreOutcome::kStored) return std::nullopt;
  return claim;
}

namespace {

// True while `items` hold the record as the claim left it, under the same lease generation.
bool StillClaimed(const FetchedItems& items, const std::string& record_key,
                  const std::string& generation_key, const std::string& claimed_bytes,
                  uint64_t generation) {
  auto record = items.find(record_key);
  auto current = items.find(generation_key);
  if (record == items.end() || current == items.end() || record->second.value != claimed_bytes) {
    return false;
  }
  std::optional<internal::LeaseGeneration> parsed =
      internal::ParseLeaseGeneration(current->second.value);
  return parsed.has_value() && parsed->id == generation;
}

}  // namespace

absl::StatusOr<bool> MemcachedEngine::StoreLeased(memcached_st* memc, const Keys& keys,
                                                  const LeaseClaim& claim,
                                                  const MemcachedItem& item,
                                                  const std::string& bytes, FetchedItems items) {
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    // Past the lease's end, a Delete's empty item may be gone (see the top of this file).
    if (clock_.Now() >= claim.record.lease_until) return false;
    auto entry = items.find(keys.entry);
    std::optional<uint64_t> cas;
    if (entry != items.end()) cas = entry->second.cas;
    LARDER_ASSIGN_OR_RETURN(StoreOutcome outcome,
                            internal::StoreByKey(memc, keys.entry, keys.entry, bytes,
                                                 ExpirationOf(item.expires_at), !cas, cas));
    if (outcome == StoreOutcome::kStored) return true;
    LARDER_ASSIGN_OR_RETURN(
        items,
        internal::GetByKey(memc, keys.entry, {keys.entry, keys.record, keys.lease_generation}));
    if (!StillClaimed(items, keys.record, keys.lease_generation, claim.bytes, claim.generation)) {
      return false;
    }
  }
  return false;
}

absl::StatusOr<SetResult> MemcachedEngine::FinishLeaseSet(memcached_st* memc, absl::string_view ns,
                                                          absl::string_view key, const Keys& keys,
                                                          const LeaseClaim& claim,
                                                          const MemcachedItem& item) {
  LARDER_ASSIGN_OR_RETURN(
      FetchedItems items,
      internal::GetByKey(memc, keys.entry, {keys.entry, keys.record, keys.lease_generation}));
  if (!StillClaimed(items, keys.record, keys.lease_generation, claim.bytes, claim.generation)) {
    LARDER_RETURN_IF_ERROR(UndoLeasedStore(memc, keys, item, std::move(items)));
    return Refusal(memc, ns, key, keys);
  }
  if (!LeaseSetStepPasses(LeaseSetStep::kChecked)) {
    return absl::AbortedError("memcached: stopped by the test hook");
  }
  MemcachedLeaseRecord filled = internal::FilledRecord(claim.record, item, claim.generation,
                                                       leases_.grace > absl::ZeroDuration());
  std::string filled_bytes = internal::EncodeLeaseRecord(filled);
  if (filled.stale.has_value() && !FitsInItem(keys.record, filled_bytes)) {
    filled.stale.reset();
    filled_bytes = internal::EncodeLeaseRecord(filled);
  }
  // Refused when a voider changed the record after C: it came after this Set, and its own write
  // supersedes the value (the top of this file), so the value was stored all the same.
  LARDER_RETURN_IF_ERROR(internal::StoreByKey(memc, keys.entry, keys.record, filled_bytes,
                                              RecordExpiration(filled), false,
                                              items.at(keys.record).cas)
                             .status());
  return SetResult{true, item.etag};
}

absl::Status MemcachedEngine::UndoLeasedStore(memcached_st* memc, const Keys& keys,
                                              const MemcachedItem& item, FetchedItems items) {
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    auto entry = items.find(keys.entry);
    if (entry == items.end()) return absl::OkStatus();
    absl::StatusOr<MemcachedItem> stored = internal::DecodeMemcachedItem(entry->second.value);
    // Another value was written since (a Touch keeps value and ETag): it is not ours to remove.
    if (!stored.ok() || stored->full_key != item.full_key || stored->value != item.value ||
        stored->etag != item.etag) {
      return absl::OkStatus();
    }
    LARDER_ASSIGN_OR_RETURN(
        StoreOutcome outcome,
        internal::StoreByKey(memc, keys.entry, keys.entry, internal::EncodeMemcachedItem({}), 1,
                             false, entry->second.cas));
    if (outcome == StoreOutcome::kStored) return absl::OkStatus();
    LARDER_ASSIGN_OR_RETURN(items, internal::GetByKey(memc, keys.entry, {keys.entry}));
  }
  // It keeps changing: a miss is always safe, a stale value is not.
  return internal::DeleteByKey(memc, keys.entry, keys.entry).status();
}

absl::StatusOr<SetResult> MemcachedEngine::Refusal(memcached_st* memc, absl::string_view ns,
                                                   absl::string_view key, const Keys& keys) {
  LARDER_ASSIGN_OR_RETURN(Current current, ReadCurrent(memc, ns, key, keys));
  return SetResult{false, current.live ? current.item.etag : std::string()};
}

absl::StatusOr<bool> MemcachedEngine::EndLease(absl::string_view ns, absl::string_view key,
                                               absl::string_view token) {
  const Keys keys = KeysOf(ns, key, /*lease_keys=*/true);
  internal::MemcachedPool::Client client = pool_->Borrow();
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    LARDER_ASSIGN_OR_RETURN(
        FetchedItems items,
        internal::GetByKey(client.get(), keys.entry, {keys.record, keys.lease_generation}));
    LARDER_ASSIGN_OR_RETURN(RecordRead read, RecordOf(items, ns, key, keys));
    // A committing lease belongs to a Set under way with the token: that Set ends it.
    if (!HeldGeneration(read, items, keys, token).has_value()) return false;
    // Kept while its copy is offered; with none, its item expires within a second or two.
    const MemcachedLeaseRecord ended = internal::EndedRecord(std::move(read.record));
    LARDER_ASSIGN_OR_RETURN(StoreOutcome outcome,
                            internal::StoreByKey(client.get(), keys.entry, keys.record,
                                                 internal::EncodeLeaseRecord(ended),
                                                 RecordExpiration(ended), false, read.cas));
    if (outcome == StoreOutcome::kStored) return true;
  }
  return absl::UnavailableError("memcached: the key's lease record kept changing during EndLease");
}

absl::StatusOr<std::optional<absl::Time>> MemcachedEngine::VoidLeaseForDelete(memcached_st* memc,
                                                                              absl::string_view ns,
                                                                              absl::string_view key,
                                                                              const Keys& keys,
                                                                              FetchedItems items) {
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    auto found = items.find(keys.record);
    if (found == items.end()) return std::nullopt;
    absl::StatusOr<MemcachedLeaseRecord> record = internal::DecodeLeaseRecord(found->second.value);
    if (record.ok() && record->full_key != internal::FullKey(ns, key)) return std::nullopt;
    const absl::Time now = clock_.Now();
    std::optional<absl::Time> outstanding;
    if (record.ok() && !record->token.empty() && record->lease_until > now) {
      outstanding = record->lease_until;
    }
    // Unreadable, or nothing left to keep: removed (voiding is always safe).
    std::optional<MemcachedLeaseRecord> voided;
    if (record.ok()) voided = internal::VoidedForDelete(*std::move(record), now);
    if (!voided.has_value()) {
      LARDER_RETURN_IF_ERROR(internal::DeleteByKey(memc, keys.entry, keys.record).status());
      return outstanding;
    }
    LARDER_ASSIGN_OR_RETURN(
        StoreOutcome outcome,
        internal::StoreByKey(memc, keys.entry, keys.record, internal::EncodeLeaseRecord(*voided),
                             RecordExpiration(*voided), false, found->second.cas));
    if (outcome == StoreOutcome::kStored) return outstanding;
    LARDER_ASSIGN_OR_RETURN(items, internal::GetByKey(memc, keys.entry, {keys.record}));
  }
  return absl::UnavailableError("memcached: the key's lease record kept changing during a delete");
}

void MemcachedEngine::MoveStaleExpiry(memcached_st* memc, absl::string_view ns,
                                      absl::string_view key, const Keys& keys,
                                      const Current& touched, absl::Time expires_at) {
  auto found = touched.fetched.find(keys.record);
  if (found == touched.fetched.end()) return;
  absl::StatusOr<MemcachedLeaseRecord> record = internal::DecodeLeaseRecord(found->second.value);
  // Only a filled record's copy of this very value; a lease in progress is left alone.
  if (!record.ok() || record->full_key != internal::FullKey(ns, key) || !record->token.empty() ||
      !record->stale.has_value() || record->stale->etag != touched.item.etag) {
    return;
  }
  record->stale->expires_at = expires_at;
  // Best effort: a record changed meanwhile keeps its own copy.
  (void)internal::StoreByKey(memc, keys.entry, keys.record, internal::EncodeLeaseRecord(*record),
                             RecordExpiration(*record), false, found->second.cas);
}

std::vector<std::string> MemcachedEngine::VoidLeasesEverywhere(absl::string_view ns) {
  const std::string key = internal::LeaseGenerationKey(options_.key_prefix, ns);
  // Random, never a successor: a generation memcached evicted is created again at random.
  const std::string value = internal::EncodeLeaseGeneration({RandomGeneration(), clock_.Now()});
  internal::MemcachedPool::Client client = pool_->Borrow();
  std::vector<std::string> missed;
  for (size_t i = 0; i < pool_->servers().size(); ++i) {
    absl::StatusOr<StoreOutcome> done = internal::StoreByKey(client.get(), pool_->group_keys()[i],
                                                             key, value, 0, false, std::nullopt);
    if (!done.ok()) missed.push_back(pool_->servers()[i].Name());
  }
  return missed;
}

}  // namespace larder::storage

#include "server/storage/lease_table.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace larder::storage {
namespace {

int64_t StaleCharge(const StoredEntry& entry) {
  return static_cast<int64_t>(entry.value.size() + entry.etag.size());
}

}  // namespace

std::string NewLeaseToken() {
  char bytes[16];
  size_t filled = 0;
  while (filled < sizeof(bytes)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
    if (got > 0) {
      filled += static_cast<size_t>(got);
    } else if (errno != EINTR) {
      // Only before the kernel's pool is first initialised, or on a kernel without getrandom
      // (< 3.17): larder refuses to hand out guessable tokens.
      std::perror("larderd: getrandom");
      std::abort();
    }
  }
  return absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes)));
}

LeaseTable::LeaseTable(const LeaseOptions& options)
    : options_(options),
      records_per_stripe_(static_cast<size_t>(std::max<int64_t>(1, options.max_leases / kStripes))),
      stale_bytes_per_stripe_(std::max<int64_t>(0, options.stale_bytes / kStripes)) {}

std::string LeaseTable::IdOf(absl::string_view ns, absl::string_view key) {
  // Namespaces never contain '\0', so the id is unambiguous.
  return absl::StrCat(ns, absl::string_view("\0", 1), key);
}

LeaseTable::Stripe& LeaseTable::StripeOf(absl::string_view ns, absl::string_view key) {
  return stripes_[absl::HashOf(ns, key) % kStripes];
}

LeaseTable::Locked LeaseTable::Lock(absl::string_view ns, absl::string_view key) {
  return Locked(*this, StripeOf(ns, key), ns, key);
}

std::vector<std::unique_ptr<absl::MutexLock>> LeaseTable::LockAll(
    absl::string_view ns, const std::vector<absl::string_view>& keys) {
  std::vector<int> indexes;
  indexes.reserve(keys.size());
  for (absl::string_view key : keys) {
    indexes.push_back(static_cast<int>(&StripeOf(ns, key) - stripes_));
  }
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  std::vector<std::unique_ptr<absl::MutexLock>> locks;
  for (int index : indexes) {
    locks.push_back(std::make_unique<absl::MutexLock>(&stripes_[index].mutex));
  }
  return locks;
}

void LeaseTable::ForgetAll(absl::string_view ns, const std::vector<absl::string_view>& keys)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {  // LockAll holds every stripe involved.
  for (absl::string_view key : keys) {
    Stripe& stripe = StripeOf(ns, key);
    if (stripe.records.empty()) continue;
    auto it = stripe.records.find(IdOf(ns, key));
    if (it == stripe.records.end()) continue;
    DropStaleLocked(stripe, it->second);
    stripe.records.erase(it);
  }
}

uint64_t LeaseTable::GenerationOf(absl::string_view ns) {
  absl::MutexLock lock(&namespaces_mutex_);
  auto it = namespaces_.find(ns);
  return it == namespaces_.end() ? floor_generation_ : it->second.generation;
}

absl::Time LeaseTable::InvalidatedAt(absl::string_view ns) {
  absl::MutexLock lock(&namespaces_mutex_);
  auto it = namespaces_.find(ns);
  return it == namespaces_.end() ? floor_invalidated_at_ : it->second.invalidated_at;
}

void LeaseTable::NewGeneration(absl::string_view ns, absl::Time now) {
  absl::MutexLock lock(&namespaces_mutex_);
  if (namespaces_.size() >= kMaxTrackedNamespaces && !namespaces_.contains(ns)) {
    // Too many to remember: every namespace moves on (voiding every lease) at once.
    namespaces_.clear();
    floor_generation_ = next_generation_++;
    floor_invalidated_at_ = now;
  }
  NamespaceState& state = namespaces_[ns];
  state.generation = next_generation_++;
  state.invalidated_at = now;
}

int64_t LeaseTable::RecordCount() {
  int64_t count = 0;
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mutex);
    count += static_cast<int64_t>(stripe.records.size());
  }
  return count;
}

int64_t LeaseTable::StaleBytes() {
  int64_t bytes = 0;
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mutex);
    bytes += stripe.stale_bytes;
  }
  return bytes;
}

void LeaseTable::DropStaleLocked(Stripe& stripe, Record& record) {
  if (!record.stale.has_value()) return;
  stripe.stale_bytes -= StaleCharge(*record.stale);
  record.stale.reset();
}

bool LeaseTable::DeadLocked(const Record& record, absl::Time now) const {
  // A record whose lease ended and that keeps no stale copy serves nothing. (A stale copy of a
  // long-gone value is dropped by the FIFO, never kept past its budget.)
  return (record.token.empty() || record.lease_until <= now) && !record.stale.has_value();
}

void LeaseTable::ShrinkStaleLocked(Stripe& stripe, int64_t budget, absl::string_view keep) {
  while (stripe.stale_bytes > budget && !stripe.stale_order.empty()) {
    auto [id, sequence] = std::move(stripe.stale_order.front());
    stripe.stale_order.pop_front();
    auto it = stripe.records.find(id);
    if (it == stripe.records.end() || it->second.stale_sequence != sequence) continue;
    DropStaleLocked(stripe, it->second);
    if (id != keep && DeadLocked(it->second, absl::InfinitePast())) stripe.records.erase(it);
  }
}

void LeaseTable::CompactStaleOrderLocked(Stripe& stripe) {
  // Refilled keys leave their older positions behind; drop them once they outnumber the records.
  if (stripe.stale_order.size() <= 2 * records_per_stripe_ + 16) return;
  std::deque<std::pair<std::string, uint64_t>> kept;
  for (auto& [id, sequence] : stripe.stale_order) {
    auto it = stripe.records.find(id);
    if (it != stripe.records.end() && it->second.stale_sequence == sequence) {
      kept.emplace_back(std::move(id), sequence);
    }
  }
  stripe.stale_order = std::move(kept);
}

bool LeaseTable::MakeRoomLocked(Stripe& stripe, absl::Time now, absl::string_view keep) {
  if (stripe.records.size() < records_per_stripe_) return true;
  for (auto it = stripe.records.begin(); it != stripe.records.end();) {
    if (it->first != keep && DeadLocked(it->second, now)) {
      stripe.records.erase(it++);
    } else {
      ++it;
    }
  }
  // Then the oldest stale copies, each freeing its record when it holds no lease.
  while (stripe.records.size() >= records_per_stripe_ && !stripe.stale_order.empty()) {
    auto [id, sequence] = std::move(stripe.stale_order.front());
    stripe.stale_order.pop_front();
    auto it = stripe.records.find(id);
    if (it == stripe.records.end() || it->second.stale_sequence != sequence) continue;
    DropStaleLocked(stripe, it->second);
    if (id != keep && DeadLocked(it->second, now)) stripe.records.erase(it);
  }
  return stripe.records.size() < records_per_stripe_;
}

// --- Locked ---------------------------------------------------------------------------------

LeaseTable::Locked::Locked(LeaseTable& table, Stripe& stripe, absl::string_view ns,
                           absl::string_view key) ABSL_NO_THREAD_SAFETY_ANALYSIS : table_(table),
                                                                                   stripe_(stripe),
                                                                                   ns_(ns),
                                                                                   key_(key) {
  stripe_.mutex.Lock();
}

LeaseTable::Locked::~Locked() ABSL_NO_THREAD_SAFETY_ANALYSIS { stripe_.mutex.Unlock(); }

const std::string& LeaseTable::Locked::Id() {
  if (id_.empty()) id_ = IdOf(ns_, key_);
  return id_;
}

LeaseTable::Record* LeaseTable::Locked::Find() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (stripe_.records.empty()) return nullptr;
  auto it = stripe_.records.find(Id());
  return it == stripe_.records.end() ? nullptr : &it->second;
}

bool LeaseTable::Locked::Current(uint64_t generation, absl::Time now) {
  const Record* record = Find();
  return record != nullptr && !record->token.empty() && record->lease_until > now &&
         record->generation == generation;
}

bool LeaseTable::Locked::CurrentWith(absl::string_view token, uint64_t generation, absl::Time now) {
  return Current(generation, now) && Find()->token == token;
}

std::optional<StoredEntry> LeaseTable::Locked::Stale(uint64_t generation, absl::Time invalidated_at,
                                                     absl::Time now) {
  const Record* record = Find();
  if (record == nullptr || !record->stale.has_value()) return std::nullopt;
  // When the value stopped being live: its expiry, its Delete, or the namespace's invalidation.
  absl::Time gone = std::min(record->stale->expires_at, record->stale_removed_at);
  if (record->stale_generation != generation) gone = std::min(gone, invalidated_at);
  // Missing while it should still live (evicted): it went just now.
  if (gone > now) gone = now;
  const absl::Time until = gone + table_.options_.grace;
  if (until <= now) return std::nullopt;
  StoredEntry stale = *record->stale;
  stale.expires_at = until;
  return stale;
}

std::string LeaseTable::Locked::Grant(absl::Time lease_until, uint64_t generation,
                                      absl::Time now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (Find() == nullptr && !table_.MakeRoomLocked(stripe_, now, Id())) return std::string();
  Record& record = stripe_.records[Id()];
  record.token = NewLeaseToken();
  record.lease_until = lease_until;
  record.generation = generation;
  return record.token;
}

void LeaseTable::Locked::Fill(absl::string_view value, const StoredEntry& entry,
                              uint64_t generation) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Record* record = Find();
  if (record == nullptr) return;
  record->token.clear();
  table_.DropStaleLocked(stripe_, *record);
  const int64_t charge = static_cast<int64_t>(value.size() + entry.etag.size());
  if (table_.options_.grace <= absl::ZeroDuration() || charge > table_.stale_bytes_per_stripe_) {
    stripe_.records.erase(Id());
    return;
  }
  table_.ShrinkStaleLocked(stripe_, table_.stale_bytes_per_stripe_ - charge, Id());
  record = Find();  // Still there: ShrinkStaleLocked keeps this key's record.
  record->stale = StoredEntry{std::string(value), entry.etag, entry.expires_at};
  record->stale_generation = generation;
  record->stale_removed_at = absl::InfiniteFuture();
  record->stale_sequence = ++stripe_.next_sequence;
  stripe_.stale_bytes += charge;
  stripe_.stale_order.emplace_back(Id(), record->stale_sequence);
  table_.CompactStaleOrderLocked(stripe_);
}

void LeaseTable::Locked::VoidForDelete(absl::Time now) {
  Record* record = Find();
  if (record == nullptr) return;
  record->token.clear();
  record->stale_removed_at = std::min(record->stale_removed_at, now);
  if (!record->stale.has_value()) Forget();
}

void LeaseTable::Locked::End() {
  Record* record = Find();
  if (record == nullptr) return;
  record->token.clear();
  if (!record->stale.has_value()) Forget();
}

void LeaseTable::Locked::Forget() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (stripe_.records.empty()) return;
  auto it = stripe_.records.find(Id());
  if (it == stripe_.records.end()) return;
  table_.DropStaleLocked(stripe_, it->second);
  stripe_.records.erase(it);
}

void LeaseTable::Locked::MoveExpiry(absl::Time expires_at) {
  Record* record = Find();
  if (record != nullptr && record->stale.has_value()) record->stale->expires_at = expires_at;
}

}  // namespace larder::storage

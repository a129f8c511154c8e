#include "client/src/near_shard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace larder::client::internal {

NearShard::NearShard(int64_t max_bytes, int64_t max_entries, int64_t max_key_marks,
                     const Clock& clock, const NearCacheMetrics* metrics)
    : max_bytes_(max_bytes),
      max_entries_(max_entries),
      max_key_marks_(max_key_marks),
      clock_(clock),
      metrics_(metrics),
      fifo_(NearFifoLimits(max_bytes, max_entries)) {}

NearShard::~NearShard() {
  absl::MutexLock lock(&mutex_);
  Account(-fifo_.bytes(), -fifo_.entries());
}

bool NearShard::Lookup(absl::string_view ns, absl::string_view key, GetResult& out) {
  absl::MutexLock lock(&mutex_);
  auto table = tables_.find(ns);
  if (table == tables_.end()) return false;
  auto found = table->second->entries.find(key);
  if (found == table->second->entries.end()) return false;
  NearNode& node = found->second;
  const NearNamespace& state = *table->second->ns;
  // Left by a reset, a loss of the stream or a namespace-wide invalidation still sweeping.
  if (node.epoch != state.epoch.load() || node.ticket < state.serve_from.load()) {
    Erase(node);
    return false;
  }
  std::optional<absl::Duration> ttl;
  if (node.expires_at != absl::InfiniteFuture()) {
    const absl::Duration left = node.expires_at - clock_.Now();
    if (left <= absl::ZeroDuration()) {
      Erase(node);
      return false;
    }
    ttl = left;
  }
  NearFifo::RecordAccess(node);
  out.found = true;
  out.value.assign(node.value);
  out.etag.assign(node.etag);
  out.ttl = ttl;
  out.not_modified = false;
  return true;
}

NearInstallResult NearShard::Install(const NearTicket& ticket, absl::string_view key, uint64_t hash,
                                     NearEntry&& entry, int64_t charge) {
  if (charge > max_bytes_ || max_entries_ < 1) return NearInstallResult::kNoRoom;
  absl::MutexLock lock(&mutex_);
  NearTable& table = TableFor(*ticket.ns);
  if (Raced(table, ticket, key)) return NearInstallResult::kRaced;
  auto [it, added] = table.entries.try_emplace(key);
  NearNode& node = it->second;
  if (!added) {
    fifo_.Remove(node);
    Account(-node.charge, -1);
  }
  node.table = &table;
  node.key = &it->first;
  // The node is not linked, so eviction cannot pick it.
  EvictFor(charge);
  node.hash = hash;
  node.value = std::move(entry.value);
  node.etag = std::move(entry.etag);
  node.expires_at = entry.expires_at.value_or(absl::InfiniteFuture());
  node.epoch = ticket.epoch;
  node.ticket = ticket.invalidations;
  node.charge = charge;
  fifo_.Insert(node);
  Account(charge, 1);
  return NearInstallResult::kInstalled;
}

bool NearShard::Raced(const NearTable& table, const NearTicket& ticket, absl::string_view key) {
  const NearNamespace& ns = *table.ns;
  if (ticket.epoch != ns.epoch.load()) return true;
  if (ticket.invalidations < ns.refuse_below.load()) return true;
  if (ticket.invalidations < table.floor) return true;
  auto mark = table.key_marks.find(key);
  return mark != table.key_marks.end() && ticket.invalidations < mark->second;
}

void NearShard::InvalidateKey(const NearNamespace& ns, absl::string_view key, uint64_t counter) {
  absl::MutexLock lock(&mutex_);
  NearTable& table = TableFor(ns);
  RecordKeyMark(table, key, counter);
  auto found = table.entries.find(key);
  if (found != table.entries.end()) Erase(found->second);
}

void NearShard::DropPrefix(absl::string_view ns, absl::string_view prefix) {
  absl::MutexLock lock(&mutex_);
  auto table = tables_.find(ns);
  if (table == tables_.end()) return;
  auto& entries = table->second->entries;
  for (auto it = entries.begin(); it != entries.end();) {
    NearNode& node = (it++)->second;  // Erasing the node leaves the advanced iterator valid.
    if (absl::StartsWith(*node.key, prefix)) Erase(node);
  }
}

void NearShard::DropNamespace(absl::string_view ns) {
  absl::MutexLock lock(&mutex_);
  auto table = tables_.find(ns);
  if (table == tables_.end()) return;
  auto& entries = table->second->entries;
  for (auto it = entries.begin(); it != entries.end();) Erase((it++)->second);
  ForgetKeyMarks(*table->second);
}

int64_t NearShard::bytes() const {
  absl::MutexLock lock(&mutex_);
  return fifo_.bytes();
}

int64_t NearShard::entries() const {
  absl::MutexLock lock(&mutex_);
  return fifo_.entries();
}

NearTable& NearShard::TableFor(const NearNamespace& ns) {
  std::unique_ptr<NearTable>& table = tables_[ns.name];
  if (table == nullptr) table = std::make_unique<NearTable>(ns);
  return *table;
}

void NearShard::Erase(NearNode& node) {
  fifo_.Remove(node);
  Account(-node.charge, -1);
  node.table->entries.erase(*node.key);
}

void NearShard::EvictFor(int64_t charge) {
  while (!fifo_.Fits(charge)) {
    NearNode* victim = fifo_.PopVictim();
    if (victim == nullptr) return;
    Account(-victim->charge, -1);
    victim->table->entries.erase(*victim->key);
    if (metrics_ != nullptr) metrics_->evictions->Increment();
  }
}

void NearShard::RecordKeyMark(NearTable& table, absl::string_view key, uint64_t counter) {
  auto [mark, added] = table.key_marks.try_emplace(key, counter);
  if (!added) {
    mark->second = std::max(mark->second, counter);
  } else {
    ++key_marks_;
  }
  table.highest_mark = std::max(table.highest_mark, counter);
  if (key_marks_ <= max_key_marks_) return;
  // Too many marks: forget them all, refusing every ticket they could have refused.
  for (auto& [name, other] : tables_) ForgetKeyMarks(*other);
}

void NearShard::ForgetKeyMarks(NearTable& table) {
  table.floor = std::max(table.floor, table.highest_mark);
  key_marks_ -= static_cast<int64_t>(table.key_marks.size());
  table.key_marks.clear();
}

void NearShard::Account(int64_t bytes, int64_t entries) const {
  if (metrics_ == nullptr) return;
  metrics_->bytes->Increment(static_cast<double>(bytes));
  metrics_->entries->Increment(static_cast<double>(entries));
}

}  // namespace larder::client::internal

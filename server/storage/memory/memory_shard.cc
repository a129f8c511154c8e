#include "server/storage/memory/memory_shard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"

namespace larder::storage::internal {
namespace {

bool IsExpired(const MemoryNode& node, absl::Time now) { return node.expires_at <= now; }

StoredEntry CopyOut(const MemoryNode& node) {
  return StoredEntry{node.value, node.etag, node.expires_at};
}

int64_t ChargeOf(const MemoryNode& node) {
  int64_t charge = kEntryOverheadBytes + node.key->size() + node.value.size() + node.etag.size();
  for (const std::string& tag : node.tags) {
    charge += kTagMembershipOverheadBytes + static_cast<int64_t>(tag.size());
  }
  return charge;
}

}  // namespace

MemoryNode* MemoryShard::FindLocked(absl::string_view ns, absl::string_view key) {
  auto table = namespaces_.find(ns);
  if (table == namespaces_.end()) return nullptr;
  auto entry = table->second.entries.find(key);
  return entry == table->second.entries.end() ? nullptr : &entry->second;
}

std::optional<StoredEntry> MemoryShard::Get(absl::string_view ns, absl::string_view key,
                                            absl::Time now) {
  {
    absl::ReaderMutexLock lock(&mutex_);
    MemoryNode* node = FindLocked(ns, key);
    if (node == nullptr) return std::nullopt;
    if (!IsExpired(*node, now)) {
      MemoryQueues::RecordAccess(*node);
      return CopyOut(*node);
    }
  }
  absl::MutexLock lock(&mutex_);  // Expired: reclaim it now.
  if (MemoryNode* node = FindLocked(ns, key)) EraseIfExpiredLocked(*node, now);
  return std::nullopt;
}

SetResult MemoryShard::Set(absl::string_view ns, absl::string_view key, uint64_t hash,
                           absl::string_view value, const SetOptions& options, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  MemoryNode* node = FindLocked(ns, key);
  if (node != nullptr && EraseIfExpiredLocked(*node, now)) node = nullptr;
  if (options.if_absent && node != nullptr) return SetResult{false, node->etag};
  if (options.if_match.has_value() &&
      (node == nullptr || !IfMatchMatches(*options.if_match, node->etag))) {
    return SetResult{false, node == nullptr ? std::string() : node->etag};
  }
  const bool inserted = node == nullptr;
  if (inserted) node = &InsertLocked(ns, key, hash);
  node->sequence = ++write_sequence_;
  AssignLocked(*node, value, options);
  if (inserted) queues_.Insert(*node);
  EvictOverBudgetLocked(node);
  return SetResult{true, options.etag};
}

// Creates the node (and its namespace table when new) and indexes its key; the caller assigns
// the value and links the node into the queues.
MemoryNode& MemoryShard::InsertLocked(absl::string_view ns, absl::string_view key, uint64_t hash) {
  auto [table_it, table_added] = namespaces_.try_emplace(ns);
  NamespaceTable& table = table_it->second;
  if (table_added) {
    table.name = &table_it->first;
    namespace_names_.insert(table_it->first);
    bookkeeping_bytes_ += NamespaceCharge(ns);
    if (std::optional<RetiredNamespaces::Counts> counts = retired_.Revive(ns)) {
      table.evictions = counts->evictions;
      table.expirations = counts->expirations;
    }
  }
  auto [entry_it, entry_added] = table.entries.try_emplace(key);
  MemoryNode& node = entry_it->second;
  node.table = &table;
  node.key = &entry_it->first;
  node.hash = hash;
  table.keys.insert(&node);
  ++totals_.entries;
  AddBytesLocked(table, static_cast<int64_t>(key.size()));
  return node;
}

// Replaces value, ETag, tags and expiry of a node already in its table; keeps the charge of the
// node, the queue and the byte counts in step.
void MemoryShard::AssignLocked(MemoryNode& node, absl::string_view value,
                               const SetOptions& options) {
  const bool retag = node.tags != options.tags;  // Same tags: the tag sets stay as they are.
  if (retag) IndexTagsLocked(node, /*add=*/false);
  AddBytesLocked(*node.table,
                 static_cast<int64_t>(value.size()) - static_cast<int64_t>(node.value.size()));
  node.value.assign(value.data(), value.size());
  node.etag = options.etag;
  if (retag) {
    node.tags = options.tags;
    IndexTagsLocked(node, /*add=*/true);
  }
  SetExpiryLocked(node, options.expires_at);
  const int64_t charge = ChargeOf(node);
  queues_.Recharge(node, charge - node.charge);
  node.charge = charge;
}

void MemoryShard::AddBytesLocked(NamespaceTable& table, int64_t delta) {
  table.bytes += delta;
  totals_.bytes += delta;
}

void MemoryShard::SetExpiryLocked(MemoryNode& node, absl::Time expires_at) {
  node.expires_at = expires_at;
  const bool expiring = expires_at != absl::InfiniteFuture();
  if (expiring && node.expiry_slot == kNoExpirySlot) {
    node.expiry_slot = expiring_.size();
    expiring_.push_back(&node);
  } else if (!expiring && node.expiry_slot != kNoExpirySlot) {
    MemoryNode* last = expiring_.back();
    expiring_[node.expiry_slot] = last;
    last->expiry_slot = node.expiry_slot;
    expiring_.pop_back();
    node.expiry_slot = kNoExpirySlot;
  }
}

// Adds the node to (or removes it from) the key set of each of its tags; a tag set exists, and
// is charged, only while it holds a node.
void MemoryShard::IndexTagsLocked(MemoryNode& node, bool add) {
  NamespaceTable& table = *node.table;
  for (const std::string& tag : node.tags) {
    if (add) {
      auto [it, created] = table.tags.try_emplace(tag);
      if (created) {
        bookkeeping_bytes_ += TagSetCharge(tag);
        ++tag_sets_;
      }
      it->second.insert(&node);
      continue;
    }
    auto it = table.tags.find(tag);
    if (it == table.tags.end()) continue;  // A repeated tag already removed the node.
    it->second.erase(&node);
    if (!it->second.empty()) continue;
    bookkeeping_bytes_ -= TagSetCharge(tag);
    --tag_sets_;
    table.tags.erase(it);
  }
}

// Erases the node, and its namespace table when it was the last (its counts retire).
void MemoryShard::EraseLocked(MemoryNode& node) {
  queues_.Remove(node);
  IndexTagsLocked(node, /*add=*/false);
  SetExpiryLocked(node, absl::InfiniteFuture());
  NamespaceTable& table = *node.table;
  table.keys.erase(&node);
  --totals_.entries;
  AddBytesLocked(table, -static_cast<int64_t>(node.key->size() + node.value.size()));
  table.entries.erase(table.entries.find(*node.key));
  if (!table.entries.empty()) return;
  retired_.Retire(*table.name, table.evictions, table.expirations);
  bookkeeping_bytes_ -= NamespaceCharge(*table.name);
  namespace_names_.erase(*table.name);
  namespaces_.erase(namespaces_.find(*table.name));
}

bool MemoryShard::EraseIfExpiredLocked(MemoryNode& node, absl::Time now) {
  if (!IsExpired(node, now)) return false;
  ++node.table->expirations;
  ++totals_.expirations;
  EraseLocked(node);
  return true;
}

void MemoryShard::EvictOverBudgetLocked(const MemoryNode* protect) {
  while (ChargedBytesLocked() > capacity_bytes_) {
    if (retired_.DropOldest()) continue;  // Old counts go before any entry does.
    MemoryNode* victim = queues_.PopVictim(protect);
    if (victim == nullptr) return;
    if (victim == protect) protect = nullptr;  // It alone exceeded the budget.
    ++victim->table->evictions;
    ++totals_.evictions;
    if (ChangeListener* listener = listener_.load(std::memory_order_acquire)) {
      listener->OnChange(*victim->table->name, ChangeKind::kKey, *victim->key);
    }
    EraseLocked(*victim);
  }
}

bool MemoryShard::Delete(absl::string_view ns, absl::string_view key, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  MemoryNode* node = FindLocked(ns, key);
  if (node == nullptr || EraseIfExpiredLocked(*node, now)) return false;
  EraseLocked(*node);
  return true;
}

std::optional<std::string> MemoryShard::Touch(absl::string_view ns, absl::string_view key,
                                              absl::Time expires_at, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  MemoryNode* node = FindLocked(ns, key);
  if (node == nullptr || EraseIfExpiredLocked(*node, now)) return std::nullopt;
  SetExpiryLocked(*node, expires_at);
  MemoryQueues::RecordAccess(*node);
  return node->etag;
}

uint64_t MemoryShard::write_sequence() {
  absl::ReaderMutexLock lock(&mutex_);
  return write_sequence_;
}

int64_t MemoryShard::Invalidate(absl::string_view ns, const InvalidateScan& scan,
                                uint64_t written_up_to, absl::Time now) {
  std::optional<std::string> resume_after;
  std::vector<MemoryNode*> batch;
  batch.reserve(limits::kKeysPerLockedBatch);
  int64_t removed = 0;
  bool more = true;
  while (more) {
    absl::MutexLock lock(&mutex_);
    more = CollectBatchLocked(ns, scan, written_up_to, resume_after, batch);
    // Erasing a node never erases another one of the batch; the table goes with the last one.
    for (MemoryNode* node : batch) {
      if (EraseIfExpiredLocked(*node, now)) continue;
      EraseLocked(*node);
      ++removed;
    }
  }
  return removed;
}

bool MemoryShard::CollectBatchLocked(absl::string_view ns, const InvalidateScan& scan,
                                     uint64_t written_up_to,
                                     std::optional<std::string>& resume_after,
                                     std::vector<MemoryNode*>& batch) {
  batch.clear();
  // Found again by name each batch: the table and the tag set vanish when they empty.
  auto table = namespaces_.find(ns);
  if (table == namespaces_.end()) return false;
  const KeyIndex* index = &table->second.keys;
  if (scan.kind == InvalidateTarget::Kind::kTag) {
    auto tagged = table->second.tags.find(scan.tag);
    if (tagged == table->second.tags.end()) return false;
    index = &tagged->second;
  }
  auto it = resume_after.has_value() ? index->upper_bound(absl::string_view(*resume_after))
                                     : index->lower_bound(scan.range_prefix);
  const MemoryNode* last = nullptr;
  bool in_range = true;
  for (int visited = 0; it != index->end() && visited < limits::kKeysPerLockedBatch;
       ++it, ++visited) {
    MemoryNode* node = *it;
    if (!absl::StartsWith(*node->key, scan.range_prefix)) {
      in_range = false;
      break;
    }
    last = node;
    if (node->sequence > written_up_to) continue;  // Written after the Invalidate began.
    if (scan.glob != nullptr && !scan.glob->Matches(*node->key)) continue;
    batch.push_back(node);
  }
  if (last != nullptr) resume_after = *last->key;
  return in_range && it != index->end();
}

void MemoryShard::AddStats(absl::string_view ns, EngineStats& stats) {
  absl::ReaderMutexLock lock(&mutex_);
  if (ns.empty()) {
    stats.entries += totals_.entries;
    stats.bytes += totals_.bytes;
    stats.evictions += totals_.evictions;
    stats.expirations += totals_.expirations;
    return;
  }
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) {
    if (const RetiredNamespaces::Counts* counts = retired_.Find(ns)) {
      stats.evictions += counts->evictions;
      stats.expirations += counts->expirations;
    }
    return;
  }
  const NamespaceTable& table = it->second;
  stats.entries += static_cast<int64_t>(table.entries.size());
  stats.bytes += table.bytes;
  stats.evictions += table.evictions;
  stats.expirations += table.expirations;
}

ShardUsage MemoryShard::Usage() {
  absl::ReaderMutexLock lock(&mutex_);
  return ShardUsage{ChargedBytesLocked(), capacity_bytes_, static_cast<int64_t>(namespaces_.size()),
                    tag_sets_, retired_.size()};
}

void MemoryShard::ListNamespaces(absl::string_view after, size_t limit,
                                 std::vector<NamespaceInfo>& out) {
  std::string cursor(after);
  while (limit > 0) {
    absl::ReaderMutexLock lock(&mutex_);
    size_t batch = std::min<size_t>(limit, limits::kKeysPerLockedBatch);
    auto it = namespace_names_.upper_bound(cursor);
    for (; batch > 0 && it != namespace_names_.end(); ++it, --batch, --limit) {
      const NamespaceTable& table = namespaces_.find(*it)->second;
      out.push_back(
          NamespaceInfo{std::string(*it), static_cast<int64_t>(table.entries.size()), table.bytes});
    }
    if (it == namespace_names_.end()) return;
    cursor = out.back().name;
  }
}

int64_t MemoryShard::SweepExpired(absl::Time now, int budget) {
  absl::MutexLock lock(&mutex_);
  int64_t removed = 0;
  for (int examined = 0; examined < budget && !expiring_.empty(); ++examined) {
    if (sweep_cursor_ >= expiring_.size()) sweep_cursor_ = 0;
    MemoryNode* node = expiring_[sweep_cursor_];
    // Erasing moves the last slot into this one, so the cursor stays put after a removal.
    if (EraseIfExpiredLocked(*node, now)) {
      ++removed;
    } else {
      ++sweep_cursor_;
    }
  }
  return removed;
}

}  // namespace larder::storage::internal

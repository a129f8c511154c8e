#include "server/storage/memory/memory_shard.h"

#include <utility>

#include "absl/strings/match.h"
#include "larder/common/etag.h"
#include "server/storage/glob.h"

namespace larder::storage::internal {
namespace {

bool IsExpired(const MemoryNode& node, absl::Time now) { return node.expires_at <= now; }

StoredEntry CopyOut(const MemoryNode& node) {
  return StoredEntry{node.value, node.etag, node.expires_at};
}

int64_t ChargeOf(const MemoryNode& node) {
  int64_t charge = kEntryOverheadBytes + node.key->size() + node.value.size() + node.etag.size();
  for (const std::string& tag : node.tags) charge += tag.size() + sizeof(std::string);
  return charge;
}

bool Selected(const InvalidateTarget& target, const std::string& key) {
  switch (target.kind) {
    case InvalidateTarget::Kind::kAll:
      return true;
    case InvalidateTarget::Kind::kPrefix:
      return absl::StartsWith(key, target.argument);
    case InvalidateTarget::Kind::kPattern:
      return GlobMatch(target.argument, key);
    case InvalidateTarget::Kind::kTag:
      return false;  // Tags go through the tag index.
  }
  return false;
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
      S3FifoQueues::RecordAccess(*node);
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
  AssignLocked(*node, value, options);
  if (inserted) queues_.Insert(*node);
  EvictOverBudgetLocked(node);
  return SetResult{true, options.etag};
}

MemoryNode& MemoryShard::InsertLocked(absl::string_view ns, absl::string_view key, uint64_t hash) {
  auto [table_it, table_added] = namespaces_.try_emplace(ns);
  NamespaceTable& table = table_it->second;
  if (table_added) {
    table.name = &table_it->first;
    table.counters = &counters_[ns];
  }
  auto [entry_it, entry_added] = table.entries.try_emplace(key);
  MemoryNode& node = entry_it->second;
  node.table = &table;
  node.key = &entry_it->first;
  node.hash = hash;
  table.bytes += static_cast<int64_t>(key.size());
  return node;
}

// Replaces value, ETag, tags and expiry of a node already in its table; keeps the charge of the
// node, the queue and the table's byte count in step.
void MemoryShard::AssignLocked(MemoryNode& node, absl::string_view value,
                               const SetOptions& options) {
  IndexTagsLocked(node, /*add=*/false);
  node.table->bytes += static_cast<int64_t>(value.size()) - static_cast<int64_t>(node.value.size());
  node.value.assign(value.data(), value.size());
  node.etag = options.etag;
  node.tags = options.tags;
  IndexTagsLocked(node, /*add=*/true);
  SetExpiryLocked(node, options.expires_at);
  const int64_t charge = ChargeOf(node);
  queues_.Recharge(node, charge - node.charge);
  node.charge = charge;
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

void MemoryShard::IndexTagsLocked(MemoryNode& node, bool add) {
  for (const std::string& tag : node.tags) {
    if (add) {
      node.table->tags[tag].insert(&node);
      continue;
    }
    auto it = node.table->tags.find(tag);
    if (it == node.table->tags.end()) continue;
    it->second.erase(&node);
    if (it->second.empty()) node.table->tags.erase(it);
  }
}

void MemoryShard::EraseLocked(MemoryNode& node) {
  queues_.Remove(node);
  IndexTagsLocked(node, /*add=*/false);
  SetExpiryLocked(node, absl::InfiniteFuture());
  NamespaceTable& table = *node.table;
  table.bytes -= static_cast<int64_t>(node.key->size() + node.value.size());
  auto entry = table.entries.find(*node.key);
  table.entries.erase(entry);
  if (table.entries.empty()) namespaces_.erase(namespaces_.find(*table.name));
}

bool MemoryShard::EraseIfExpiredLocked(MemoryNode& node, absl::Time now) {
  if (!IsExpired(node, now)) return false;
  ++node.table->counters->expirations;
  EraseLocked(node);
  return true;
}

void MemoryShard::EvictOverBudgetLocked(const MemoryNode* protect) {
  while (queues_.charged_bytes() > queues_.capacity_bytes()) {
    MemoryNode* victim = queues_.PopVictim(protect);
    if (victim == nullptr) return;
    ++victim->table->counters->evictions;
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
  S3FifoQueues::RecordAccess(*node);
  return node->etag;
}

int64_t MemoryShard::Invalidate(absl::string_view ns, const InvalidateTarget& target,
                                absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto table = namespaces_.find(ns);
  if (table == namespaces_.end()) return 0;
  return EraseMatchingLocked(table->second, target, now);
}

// Erases the selected nodes of `table` (which may itself be erased); counts the live ones.
int64_t MemoryShard::EraseMatchingLocked(NamespaceTable& table, const InvalidateTarget& target,
                                         absl::Time now) {
  std::vector<MemoryNode*> victims;
  if (target.kind == InvalidateTarget::Kind::kTag) {
    auto tagged = table.tags.find(target.argument);
    if (tagged != table.tags.end()) victims.assign(tagged->second.begin(), tagged->second.end());
  } else {
    for (auto& [key, node] : table.entries) {
      if (Selected(target, key)) victims.push_back(&node);
    }
  }
  int64_t deleted = 0;
  for (MemoryNode* node : victims) {
    if (EraseIfExpiredLocked(*node, now)) continue;
    EraseLocked(*node);
    ++deleted;
  }
  return deleted;
}

void MemoryShard::AddStats(absl::string_view ns, EngineStats& stats) {
  absl::ReaderMutexLock lock(&mutex_);
  for (const auto& [name, table] : namespaces_) {
    if (!ns.empty() && name != ns) continue;
    stats.entries += static_cast<int64_t>(table.entries.size());
    stats.bytes += table.bytes;
  }
  for (const auto& [name, counters] : counters_) {
    if (!ns.empty() && name != ns) continue;
    stats.evictions += counters.evictions;
    stats.expirations += counters.expirations;
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

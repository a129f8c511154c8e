// MemoryEngine: entries held in this process, in independently locked shards with S3-FIFO
// eviction under a byte budget and a background sweeper that reclaims expired entries a few at a
// time. The fastest engine; data is lost on restart and is not shared between replicas.
//
//   MemoryEngineOptions options{.max_bytes = 256 << 20};
//   auto engine = MemoryEngine::Create(options, Clock::Real());
//
// Design. An entry lives in the shard picked by the hash of (namespace, key), in that shard's
// table of the namespace: a hash map for Get/Set/Delete (a Get is one lookup under a shared
// lock) plus an ordered index of the keys and, per tag, an ordered set of the keys carrying it.
// Only a Set of a new key pays the O(log n) index insert. Every Set that stores stamps its entry
// with the shard's next write sequence. Invalidate records every shard's current sequence before
// it touches any shard, then walks each shard in batches of at most limits::kKeysPerLockedBatch
// keys: under the lock it finds the table again by name, resumes just after the last key it
// visited, and erases the selected entries stamped no later than the recorded sequence; it holds
// no lock between batches. So what is written after the Invalidate began (new keys, overwrites of
// selected keys) is never removed by it, and other calls wait at most one batch. A prefix walks
// only the prefix's range of the key index, a glob only its literal prefix's range (testing each
// key with the glob, compiled once per call), a tag only its key set.
//
// Memory. Each shard keeps its charge under max_bytes / shards by evicting entries. The charge
// counts every entry (bytes plus internal::kEntryOverheadBytes) and what the shard keeps beside
// entries: internal::kNamespaceOverheadBytes per namespace table, internal::kTagSetOverheadBytes
// per tag set, and the retired counts below. A table or tag set is dropped as soon as it is
// empty, so a client creating many namespaces or tags is bounded by the same budget. The entry
// being written is never evicted to make room for itself unless it alone exceeds its shard's
// share (ruled out by max_entry_bytes; see internal::kMaxEntryChargeBeyondValue).
//
// Stats are O(shards): running totals per shard and per namespace table. When a namespace's
// table in a shard empties, its eviction and expiration counts move to a small record of
// recently emptied namespaces (at most internal::kRetiredNamespacesPerShard per shard, charged,
// and the first thing dropped under memory pressure), which a new table of the namespace takes
// over. Once that record is dropped, those counts are forgotten: Stats(ns) of a namespace that
// emptied long ago may report zero evictions and expirations (Stats("") keeps counting).
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/memory/memory_shard.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

// What a MemoryEngine holds and charges against its budget, for tests and metrics.
struct MemoryUsage {
  int64_t charged_bytes = 0;            // Entries and bookkeeping, over every shard.
  int64_t max_shard_charged_bytes = 0;  // The fullest shard's charge.
  int64_t shard_capacity_bytes = 0;     // Each shard's budget (max_bytes / shard count).
  int64_t namespace_tables = 0;         // (namespace, shard) pairs holding an entry.
  int64_t tag_sets = 0;                 // (namespace, tag, shard) triples holding an entry.
  int64_t retired_namespaces = 0;       // Emptied tables whose counts are still remembered.
};

class MemoryEngine final : public StorageEngine {
 public:
  // kInvalidArgument when max_bytes cannot hold even one entry of max_entry_bytes, or when
  // shards / sweep_batch are not positive.
  static absl::StatusOr<std::unique_ptr<MemoryEngine>> Create(const MemoryEngineOptions& options,
                                                              const Clock& clock);
  ~MemoryEngine() override;

  absl::string_view name() const override { return "memory"; }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // Cost: O(shards + k log n) for the k keys of `ns` it visits (the prefix's or the glob's
  // literal prefix's range, the tag's keys, or all), in batches of limits::kKeysPerLockedBatch;
  // plus O(key + pattern) per visited key for a glob. kInvalidArgument only for a pattern that
  // CompiledGlob rejects (the service validates patterns first).
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // Cost: O(shards), whatever the number of namespaces and entries.
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  absl::Status CheckHealth() override { return absl::OkStatus(); }
  // Cost: O(shards x (log namespaces + limit)) time, O(shards x limit) memory; a namespace
  // table exists only while it holds an entry, so every listed namespace holds one.
  absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit) override;
  // Reports evictions (one key change each); the writes made through it are reported by
  // WithChangeReports, so it returns false.
  bool WatchChanges(ChangeListener* listener) override {
    for (auto& shard : shards_) shard->set_change_listener(listener);
    return false;
  }
  // MultiSet: the StorageEngine default (Set per item, in order) is correct here: this engine's
  // Set cannot fail, so the batch is all-or-nothing as the contract asks.

  // One sweeper tick: up to options.sweep_batch expiring entries examined per shard. Returns
  // how many expired entries it removed. Called by the sweeper thread, or by tests.
  int64_t SweepExpired();

  // The number of shards actually used (options.shards, lowered to fit max_entry_bytes).
  int shard_count() const { return static_cast<int>(shards_.size()); }

  // What the shards hold and charge. O(shards); thread-safe.
  MemoryUsage Usage();

 private:
  MemoryEngine(const MemoryEngineOptions& options, const Clock& clock, int shards);
  internal::MemoryShard& ShardFor(uint64_t hash) { return *shards_[hash % shards_.size()]; }
  void SweepLoop();

  const MemoryEngineOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<internal::MemoryShard>> shards_;

  absl::Mutex sweeper_mutex_;
  bool stopping_ ABSL_GUARDED_BY(sweeper_mutex_) = false;
  std::thread sweeper_;
};

// Registers "memory" in `registry`.
void RegisterMemoryEngine(EngineRegistry& registry);

}  // namespace larder::storage

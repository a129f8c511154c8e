// RocksDbEngine: entries kept on local disk in RocksDB, so the cache can be larger than RAM and
// survives restarts and crashes of larderd. Each entry is one row holding its expiry, write
// stamp, ETag, tags and value (a read is one lookup); a tag index in its own column family
// serves tag invalidation; a compaction filter drops rows the injected Clock says have expired.
//
//   RocksDbEngineOptions options{.path = "/var/lib/larder"};
//   absl::StatusOr<std::unique_ptr<RocksDbEngine>> engine = RocksDbEngine::Open(options, clock);
//
// Durability: every write goes through the write-ahead log before it is acknowledged. With
// sync_writes off (the default) it survives a crash of the process, not of the machine.
//
// Errors (rocksdb_status.h): I/O trouble is kUnavailable, rows or files RocksDB or larder cannot
// read are kDataLoss, and operations RocksDB refuses for good are kInternal.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/rocksdb/rocksdb_locks.h"
#include "server/storage/storage_engine.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace larder::storage {

class CompiledGlob;

namespace internal {
struct EntryView;
class ExpirationCounter;
class ExpiryCompactionFilter;
class StampAllocator;
}  // namespace internal

// Thread-safe. Writes to one key are serialised by a striped key lock (rocksdb_locks.h);
// MultiSet and each batch of an Invalidate hold the stripes of their keys. No lock covers a
// namespace, and none is held between two batches of an Invalidate.
class RocksDbEngine final : public StorageEngine {
 public:
  // kInvalidArgument when options.path is empty; kUnavailable naming the directory when it
  // cannot be created or opened, or is locked by another process; kDataLoss when it holds a
  // corrupted database.
  static absl::StatusOr<std::unique_ptr<RocksDbEngine>> Open(const RocksDbEngineOptions& options,
                                                             const Clock& clock);
  ~RocksDbEngine() override;

  absl::string_view name() const override { return "rocksdb"; }
  bool blocking() const override { return true; }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGet(
      absl::string_view ns, const std::vector<absl::string_view>& keys) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  // One WriteBatch for the whole call, written once, under the stripes of every key: all or
  // nothing. O(items + their bytes).
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                  const std::vector<SetItem>& items) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  // Rewrites the row with the new expiry and keeps its write stamp: an Invalidate that began
  // before the Touch still removes the entry (a Touch writes no new data).
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // Scans the selected rows of `ns` (a prefix or a pattern's literal prefix narrows the scan to
  // that key range; a tag reads its index rows): O(rows scanned), in batches of at most
  // limits::kKeysPerLockedBatch keys, each under the stripes of its keys only. See
  // rocksdb_invalidate.cc.
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // Scans the namespace (every namespace when `ns` is empty) without taking any lock:
  // O(entries of the namespace), reads bypass the block cache. Expirations count what this
  // process removed since it opened the database (rocksdb_expiry.h bounds that bookkeeping).
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  // Scans the namespaces after `after` one by one, without any lock, up to `limit` of them
  // (namespaces whose rows have all expired count towards it but are not listed):
  // O(limit + rows of the namespaces examined).
  absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit) override;
  absl::Status CheckHealth() override;

  // Flushes and compacts both column families down to the last level now, so the compaction
  // filter drops every row that has expired. For operators and tests; RocksDB also compacts on
  // its own (and periodically, see RocksDbEngineOptions::periodic_compaction).
  absl::Status CompactAll();

  // For tests only: `hook` runs on the calling thread after each batch of an Invalidate (with
  // no lock held) and after every limits::kKeysPerLockedBatch rows of a Stats scan, so a test
  // can interleave other calls deterministically. Set it before the engine is shared.
  void SetBatchHookForTesting(std::function<void()> hook) { batch_hook_ = std::move(hook); }

 private:
  RocksDbEngine(const RocksDbEngineOptions& options, const Clock& clock);
  absl::Status OpenDatabase();

  // The raw entry row, or nullopt.
  absl::StatusOr<std::optional<std::string>> ReadRow(const std::string& row_key);
  // The raw entry rows of `row_keys` in one MultiGet; fails on the first error.
  absl::StatusOr<std::vector<std::optional<std::string>>> ReadRows(
      const std::vector<std::string>& row_keys);
  absl::Status Write(rocksdb::WriteBatch& batch);
  // Adds the deletion of the tag-index rows of `entry` (stored under ns/key) to `batch`.
  void DeleteTagRows(rocksdb::WriteBatch& batch, absl::string_view ns, absl::string_view key,
                     const internal::EntryView& entry);
  // Adds the tag-index rows of `tags` with the given expiry to `batch`.
  void PutTagRows(rocksdb::WriteBatch& batch, absl::string_view ns, absl::string_view key,
                  const std::vector<absl::string_view>& tags, int64_t expiry_micros);
  // Removes (ns, key) if it is still there and expired, counting an expiration.
  absl::Status ReclaimIfExpired(absl::string_view ns, absl::string_view key);
  absl::StatusOr<std::optional<StoredEntry>> LiveEntryOf(absl::string_view ns,
                                                         absl::string_view key,
                                                         absl::string_view row, absl::Time now);

  // Write helper (rocksdb_write.cc); the caller holds the key's stripe. Evaluates a Set against
  // `row` (the key's current row; nullopt when absent), adds its writes to `batch`, updates
  // `row` to what the key holds after them and counts a reclaimed expired entry in `expired`.
  absl::StatusOr<SetResult> StageSet(rocksdb::WriteBatch& batch, absl::string_view ns,
                                     absl::string_view key, absl::string_view value,
                                     const SetOptions& options, absl::Time now,
                                     std::optional<std::string>& row, int64_t& expired);

  // Invalidate helpers (rocksdb_invalidate.cc); each takes and releases its own locks.
  absl::StatusOr<int64_t> InvalidateRange(absl::string_view ns, absl::string_view prefix,
                                          const CompiledGlob* glob, uint64_t horizon);
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag,
                                        uint64_t horizon);
  // Under the stripes of `keys`: removes each entry still stamped below `horizon` (and, when
  // `tag` is set, still carrying it; stale index rows of the tag go too). Returns the live
  // entries removed.
  absl::StatusOr<int64_t> RemoveBatch(absl::string_view ns, const std::vector<std::string>& keys,
                                      uint64_t horizon, std::optional<absl::string_view> tag);
  void AfterBatch() const {
    if (batch_hook_) batch_hook_();
  }

  const RocksDbEngineOptions options_;
  const Clock& clock_;
  std::unique_ptr<internal::ExpirationCounter> expirations_;
  std::unique_ptr<internal::ExpiryCompactionFilter> entries_filter_;
  std::unique_ptr<internal::ExpiryCompactionFilter> tags_filter_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, entries, tags
  rocksdb::ColumnFamilyHandle* entries_ = nullptr;
  rocksdb::ColumnFamilyHandle* tags_ = nullptr;
  std::unique_ptr<internal::StampAllocator> stamps_;
  internal::KeyLocks key_locks_;
  std::function<void()> batch_hook_;
};

// Registers "rocksdb" in `registry`.
void RegisterRocksDbEngine(EngineRegistry& registry);

}  // namespace larder::storage

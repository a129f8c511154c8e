// RocksDbEngine: entries kept on local disk in RocksDB, so the cache can be larger than RAM and
// survives restarts and crashes of larderd. Each entry is one row holding its expiry, ETag, tags
// and value (a read is one lookup); a tag index in its own column family serves tag
// invalidation; a compaction filter drops rows the injected Clock says have expired.
//
//   RocksDbEngineOptions options{.path = "/var/lib/larder"};
//   absl::StatusOr<std::unique_ptr<RocksDbEngine>> engine = RocksDbEngine::Open(options, clock);
//
// Durability: every write goes through the write-ahead log before it is acknowledged. With
// sync_writes off (the default) it survives a crash of the process, not of the machine.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/storage_engine.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace larder::storage {

namespace internal {
struct EntryView;
class ExpirationCounter;
class ExpiryCompactionFilter;
}  // namespace internal

// Thread-safe. Writes to one key are serialised by a striped key lock; Invalidate holds its
// namespace's lock exclusively so the count it returns is exactly what it removed.
class RocksDbEngine final : public StorageEngine {
 public:
  // kInvalidArgument when options.path is empty; kUnavailable naming the directory when it
  // cannot be created or opened, or is locked by another process.
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
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // Scans the namespace (every namespace when `ns` is empty): O(entries), reads bypass the
  // block cache. Expirations count what this process removed since it opened the database.
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  absl::Status CheckHealth() override;

  // Flushes and compacts both column families down to the last level now, so the compaction
  // filter drops every row that has expired. For operators and tests; RocksDB also compacts on
  // its own (and periodically, see RocksDbEngineOptions::periodic_compaction).
  absl::Status CompactAll();

 private:
  static constexpr size_t kKeyLockStripes = 64;
  static constexpr size_t kNamespaceLockStripes = 16;

  RocksDbEngine(const RocksDbEngineOptions& options, const Clock& clock);
  absl::Status OpenDatabase();

  absl::Mutex& KeyLock(absl::string_view ns, absl::string_view key);
  absl::Mutex& NamespaceLock(absl::string_view ns);

  // The raw entry row, or nullopt.
  absl::StatusOr<std::optional<std::string>> ReadRow(const std::string& row_key);
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

  // Invalidate helpers (rocksdb_invalidate.cc); the caller holds the namespace lock exclusively.
  absl::StatusOr<int64_t> RemoveKeyRange(absl::string_view ns, absl::string_view prefix);
  absl::StatusOr<int64_t> RemoveMatching(absl::string_view ns, absl::string_view pattern);
  absl::StatusOr<int64_t> RemoveTagged(absl::string_view ns, absl::string_view tag);

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

  // Read-modify-write of one key holds NamespaceLock shared, then KeyLock. They guard rows in
  // RocksDB rather than fields, so carry no ABSL_GUARDED_BY.
  std::array<absl::Mutex, kKeyLockStripes> key_locks_;
  std::array<absl::Mutex, kNamespaceLockStripes> namespace_locks_;
};

// Registers "rocksdb" in `registry`.
void RegisterRocksDbEngine(EngineRegistry& registry);

}  // namespace larder::storage

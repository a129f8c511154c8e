#include "server/storage/rocksdb/rocksdb_engine.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/base/dynamic_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "server/storage/leasing_engine.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_expiry.h"
#include "server/storage/rocksdb/rocksdb_stamps.h"
#include "server/storage/rocksdb/rocksdb_status.h"

namespace larder::storage {
namespace {

using internal::DecodeEntry;
using internal::EntryKey;
using internal::EntryView;
using internal::ExpiryMicros;
using internal::ExpiryTime;
using internal::FromRocksDb;
using internal::IsLive;

rocksdb::CompressionType CompressionOf(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return rocksdb::kNoCompression;
    case Compression::kLz4:
      return rocksdb::kLZ4Compression;
    case Compression::kZstd:
      return rocksdb::kZSTD;
  }
  return rocksdb::kLZ4Compression;
}

rocksdb::ColumnFamilyOptions FamilyOptions(const RocksDbEngineOptions& options,
                                           const std::shared_ptr<rocksdb::Cache>& cache,
                                           const rocksdb::CompactionFilter* filter) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions family;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.compression = CompressionOf(options.compression);
  family.compaction_filter = filter;
  family.periodic_compaction_seconds =
      static_cast<uint64_t>(absl::ToInt64Seconds(options.periodic_compaction));
  return family;
}

absl::Status OpenError(const std::string& path, const rocksdb::Status& status) {
  const std::string reason = status.ToString();
  if (status.IsIOError() && absl::StrContains(absl::AsciiStrToLower(reason), "lock")) {
    return absl::UnavailableError(
        absl::StrCat("rocksdb engine: data directory \"", path,
                     "\" is locked by another process (is another larderd using it?): ", reason));
  }
  return absl::Status(
      internal::CodeOf(status),
      absl::StrCat("rocksdb engine: cannot open data directory \"", path, "\": ", reason));
}

}  // namespace

RocksDbEngine::RocksDbEngine(const RocksDbEngineOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      expirations_(std::make_unique<internal::ExpirationCounter>()),
      entries_filter_(
          std::make_unique<internal::ExpiryCompactionFilter>(clock, expirations_.get())),
      tags_filter_(std::make_unique<internal::ExpiryCompactionFilter>(clock, nullptr)) {}

absl::StatusOr<std::unique_ptr<RocksDbEngine>> RocksDbEngine::Open(
    const RocksDbEngineOptions& options, const Clock& clock) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("rocksdb engine: a data directory is required (--data-dir)");
  }
  if (options.block_cache_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rocksdb engine: block cache size must not be negative, got ", options.block_cache_bytes));
  }
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("rocksdb engine: cannot create data directory \"",
                                               options.path, "\": ", error.message()));
  }
  auto engine = std::unique_ptr<RocksDbEngine>(new RocksDbEngine(options, clock));
  LARDER_RETURN_IF_ERROR(engine->OpenDatabase());
  return engine;
}

absl::Status RocksDbEngine::OpenDatabase() {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  block_cache_ = rocksdb::NewLRUCache(static_cast<size_t>(options_.block_cache_bytes));
  // The default family holds the stamp epoch (rocksdb_stamps.h), which is not an expiry: it must
  // never get the expiry filter.
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(options_, block_cache_, nullptr)},
      {internal::kEntriesColumnFamily,
       FamilyOptions(options_, block_cache_, entries_filter_.get())},
      {internal::kTagsColumnFamily, FamilyOptions(options_, block_cache_, tags_filter_.get())}};
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, options_.path, families, &handles_, &db);
  if (!status.ok()) return OpenError(options_.path, status);
  db_.reset(db);
  entries_ = handles_[1];
  tags_ = handles_[2];
  LARDER_ASSIGN_OR_RETURN(stamps_, internal::StampAllocator::Open(*db_, handles_[0]));
  return absl::OkStatus();
}

RocksDbEngine::~RocksDbEngine() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
  db_.reset();
}

absl::StatusOr<std::optional<std::string>> RocksDbEngine::ReadRow(const std::string& row_key) {
  rocksdb::PinnableSlice row;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), entries_, row_key, &row);
  if (status.IsNotFound()) return std::nullopt;
  LARDER_RETURN_IF_ERROR(FromRocksDb(status, "read"));
  return row.ToString();
}

absl::StatusOr<std::vector<std::optional<std::string>>> RocksDbEngine::ReadRows(
    const std::vector<std::string>& row_keys) {
  std::vector<rocksdb::Slice> slices(row_keys.begin(), row_keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> families(row_keys.size(), entries_);
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), families, slices, &values);
  std::vector<std::optional<std::string>> rows(row_keys.size());
  for (size_t i = 0; i < row_keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    LARDER_RETURN_IF_ERROR(FromRocksDb(statuses[i], "read"));
    rows[i] = std::move(values[i]);
  }
  return rows;
}

absl::Status RocksDbEngine::Write(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  // Under ThreadSanitizer only: the thread that leads a RocksDB write group copies the other
  // writers' batches into the WAL and memtable, handed over with atomics inside Debian's
  // uninstrumented RocksDB that TSan cannot see. What this thread touches inside the call is
  // RocksDB's business (no larder code runs there); larder's own accesses stay checked.
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN();
  const rocksdb::Status status = db_->Write(write_options, &batch);
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_END();
  return FromRocksDb(status, "write");
}

void RocksDbEngine::DeleteTagRows(rocksdb::WriteBatch& batch, absl::string_view ns,
                                  absl::string_view key, const EntryView& entry) {
  for (absl::string_view tag : entry.tags) {
    batch.Delete(tags_, internal::TagRowKey(ns, tag, key)).PermitUncheckedError();
  }
}

void RocksDbEngine::PutTagRows(rocksdb::WriteBatch& batch, absl::string_view ns,
                               absl::string_view key, const std::vector<absl::string_view>& tags,
                               int64_t expiry_micros) {
  const std::string expiry = internal::EncodeExpiry(expiry_micros);
  for (absl::string_view tag : tags) {
    batch.Put(tags_, internal::TagRowKey(ns, tag, key), expiry).PermitUncheckedError();
  }
}

absl::Status RocksDbEngine::ReclaimIfExpired(absl::string_view ns, absl::string_view key) {
  const std::string row_key = EntryKey(ns, key);
  absl::MutexLock key_lock(&key_locks_.For(ns, key));
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(row_key));
  if (!row.has_value()) return absl::OkStatus();
  std::optional<EntryView> entry = DecodeEntry(*row);
  if (!entry.has_value()) return internal::UndecodableRow(ns);
  if (IsLive(*entry, clock_.Now())) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  DeleteTagRows(batch, ns, key, *entry);
  batch.Delete(entries_, row_key).PermitUncheckedError();
  LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<StoredEntry>> RocksDbEngine::LiveEntryOf(absl::string_view ns,
                                                                      absl::string_view key,
                                                                      absl::string_view row,
                                                                      absl::Time now) {
  std::optional<EntryView> entry = DecodeEntry(row);
  if (!entry.has_value()) return internal::UndecodableRow(ns);
  if (IsLive(*entry, now)) {
    return StoredEntry{std::string(entry->value), std::string(entry->etag),
                       ExpiryTime(entry->expires_at_micros)};
  }
  LARDER_RETURN_IF_ERROR(ReclaimIfExpired(ns, key));
  return std::nullopt;
}

absl::StatusOr<std::optional<StoredEntry>> RocksDbEngine::Get(absl::string_view ns,
                                                              absl::string_view key) {
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(EntryKey(ns, key)));
  if (!row.has_value()) return std::nullopt;
  return LiveEntryOf(ns, key, *row, clock_.Now());
}

absl::StatusOr<std::vector<std::optional<StoredEntry>>> RocksDbEngine::MultiGet(
    absl::string_view ns, const std::vector<absl::string_view>& keys) {
  std::vector<std::string> row_keys;
  row_keys.reserve(keys.size());
  for (absl::string_view key : keys) row_keys.push_back(EntryKey(ns, key));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> rows, ReadRows(row_keys));
  const absl::Time now = clock_.Now();
  std::vector<std::optional<StoredEntry>> entries;
  entries.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!rows[i].has_value()) {
      entries.emplace_back();
      continue;
    }
    LARDER_ASSIGN_OR_RETURN(std::optional<StoredEntry> entry,
                            LiveEntryOf(ns, keys[i], *rows[i], now));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<bool> RocksDbEngine::Delete(absl::string_view ns, absl::string_view key) {
  const std::string row_key = EntryKey(ns, key);
  absl::MutexLock key_lock(&key_locks_.For(ns, key));
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(row_key));
  if (!row.has_value()) return false;
  std::optional<EntryView> entry = DecodeEntry(*row);
  if (!entry.has_value()) return internal::UndecodableRow(ns);
  rocksdb::WriteBatch batch;
  DeleteTagRows(batch, ns, key, *entry);
  batch.Delete(entries_, row_key).PermitUncheckedError();
  LARDER_RETURN_IF_ERROR(Write(batch));
  if (IsLive(*entry, clock_.Now())) return true;
  expirations_->Add(ns);
  return false;
}

absl::StatusOr<std::optional<std::string>> RocksDbEngine::Touch(absl::string_view ns,
                                                                absl::string_view key,
                                                                absl::Time expires_at) {
  const std::string row_key = EntryKey(ns, key);
  absl::MutexLock key_lock(&key_locks_.For(ns, key));
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(row_key));
  if (!row.has_value()) return std::nullopt;
  std::optional<EntryView> entry = DecodeEntry(*row);
  if (!entry.has_value()) return internal::UndecodableRow(ns);
  rocksdb::WriteBatch batch;
  if (!IsLive(*entry, clock_.Now())) {
    DeleteTagRows(batch, ns, key, *entry);
    batch.Delete(entries_, row_key).PermitUncheckedError();
    LARDER_RETURN_IF_ERROR(Write(batch));
    expirations_->Add(ns);
    return std::nullopt;
  }
  std::string etag(entry->etag);
  const int64_t expiry = ExpiryMicros(expires_at);
  PutTagRows(batch, ns, key, entry->tags, expiry);
  internal::RewriteExpiry(*row, expiry);  // `entry` views *row: not used past this point.
  batch.Put(entries_, row_key, *row).PermitUncheckedError();
  LARDER_RETURN_IF_ERROR(Write(batch));
  return etag;
}

absl::Status RocksDbEngine::CheckHealth() {
  uint64_t background_errors = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kBackgroundErrors, &background_errors) &&
      background_errors > 0) {
    return absl::UnavailableError(absl::StrCat("rocksdb: ", background_errors,
                                               " background errors in \"", options_.path,
                                               "\"; writes are stopped until larderd restarts"));
  }
  return absl::OkStatus();
}

absl::Status RocksDbEngine::CompactAll() {
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* family : {entries_, tags_}) {
    LARDER_RETURN_IF_ERROR(
        FromRocksDb(db_->CompactRange(compact, family, nullptr, nullptr), "compact"));
  }
  return absl::OkStatus();
}

void RegisterRocksDbEngine(EngineRegistry& registry) {
  registry.Register("rocksdb",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine = RocksDbEngine::Open(options.rocksdb, clock);
                      if (!engine.ok()) return std::move(engine).status();
                      return WithLeases(*std::move(engine), options.leases, clock);
                    });
}

}  // namespace larder::storage

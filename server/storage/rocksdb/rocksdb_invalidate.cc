// RocksDbEngine::Invalidate: removing a namespace, a key prefix, a glob pattern or a tag.
//
// The namespace lock is held exclusively throughout, so no Set, Delete or Touch of the namespace
// interleaves: the rows an iterator sees are exactly the rows removed, and the count returned is
// exactly the number of live entries among them. Rows are removed in batches of kRowsPerBatch so
// a large namespace never builds one huge write: a contiguous key range becomes one DeleteRange
// tombstone per batch (plus point deletes of the batch's tag rows); pattern and tag removals,
// whose rows are not contiguous, use point deletes.
#include <algorithm>
#include <string>
#include <vector>

#include "larder/common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/storage/glob.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "server/storage/rocksdb/rocksdb_expiry.h"
#include "server/storage/rocksdb/rocksdb_status.h"

namespace larder::storage {
namespace {

using internal::EntryView;
using internal::ToView;

constexpr int kRowsPerBatch = 1024;

// Counts what one invalidation removed.
struct Removed {
  int64_t live = 0;
  int64_t expired = 0;

  void Count(const EntryView& entry, absl::Time now) {
    if (internal::ExpiryTime(entry.expires_at_micros) > now) {
      ++live;
    } else {
      ++expired;
    }
  }
};

rocksdb::ReadOptions ScanOptions(const rocksdb::Slice* upper_bound) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.iterate_upper_bound = upper_bound;
  return read_options;
}

}  // namespace

absl::StatusOr<int64_t> RocksDbEngine::Invalidate(absl::string_view ns,
                                                  const InvalidateTarget& target) {
  absl::WriterMutexLock namespace_lock(&NamespaceLock(ns));
  switch (target.kind) {
    case InvalidateTarget::Kind::kAll:
      return RemoveKeyRange(ns, "");
    case InvalidateTarget::Kind::kPrefix:
      return RemoveKeyRange(ns, target.argument);
    case InvalidateTarget::Kind::kPattern:
      return RemoveMatching(ns, target.argument);
    case InvalidateTarget::Kind::kTag:
      return RemoveTagged(ns, target.argument);
  }
  return absl::InvalidArgumentError("rocksdb: unknown invalidation kind");
}

absl::StatusOr<int64_t> RocksDbEngine::RemoveKeyRange(absl::string_view ns,
                                                      absl::string_view prefix) {
  const std::string end = internal::PrefixEnd(ns, prefix);
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> rows(db_->NewIterator(ScanOptions(&upper_bound), entries_));
  const absl::Time now = clock_.Now();
  Removed removed;
  rocksdb::WriteBatch batch;
  std::string first_row;
  int rows_in_batch = 0;
  for (rows->Seek(internal::PrefixBegin(ns, prefix)); rows->Valid(); rows->Next()) {
    absl::string_view row_ns, key;
    std::optional<EntryView> entry = internal::DecodeEntry(ToView(rows->value()));
    if (!internal::SplitEntryKey(ToView(rows->key()), row_ns, key) || !entry.has_value()) {
      return internal::UndecodableRow(ns);
    }
    DeleteTagRows(batch, ns, key, *entry);
    removed.Count(*entry, now);
    if (rows_in_batch++ == 0) first_row = rows->key().ToString();
    if (rows_in_batch < kRowsPerBatch) continue;
    // The batch's rows are [first_row, this row]; the smallest key after this row ends it.
    const std::string past_last = rows->key().ToString() + std::string(1, '\0');
    batch.DeleteRange(entries_, first_row, past_last).PermitUncheckedError();
    LARDER_RETURN_IF_ERROR(Write(batch));
    batch.Clear();
    rows_in_batch = 0;
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(rows->status(), "scan"));
  if (rows_in_batch > 0) {
    batch.DeleteRange(entries_, first_row, end).PermitUncheckedError();
    LARDER_RETURN_IF_ERROR(Write(batch));
  }
  expirations_->Add(ns, removed.expired);
  return removed.live;
}

absl::StatusOr<int64_t> RocksDbEngine::RemoveMatching(absl::string_view ns,
                                                      absl::string_view pattern) {
  const std::string literal = GlobLiteralPrefix(pattern);
  const std::string end = internal::PrefixEnd(ns, literal);
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> rows(db_->NewIterator(ScanOptions(&upper_bound), entries_));
  const absl::Time now = clock_.Now();
  Removed removed;
  rocksdb::WriteBatch batch;
  for (rows->Seek(internal::PrefixBegin(ns, literal)); rows->Valid(); rows->Next()) {
    absl::string_view row_ns, key;
    if (!internal::SplitEntryKey(ToView(rows->key()), row_ns, key)) {
      return internal::UndecodableRow(ns);
    }
    if (!GlobMatch(pattern, key)) continue;
    std::optional<EntryView> entry = internal::DecodeEntry(ToView(rows->value()));
    if (!entry.has_value()) return internal::UndecodableRow(ns);
    DeleteTagRows(batch, ns, key, *entry);
    batch.Delete(entries_, rows->key()).PermitUncheckedError();
    removed.Count(*entry, now);
    if (batch.Count() < kRowsPerBatch) continue;
    LARDER_RETURN_IF_ERROR(Write(batch));
    batch.Clear();
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(rows->status(), "scan"));
  if (batch.Count() > 0) LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns, removed.expired);
  return removed.live;
}

absl::StatusOr<int64_t> RocksDbEngine::RemoveTagged(absl::string_view ns, absl::string_view tag) {
  const std::string end = internal::TagRangeEnd(ns, tag);
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> tag_rows(db_->NewIterator(ScanOptions(&upper_bound), tags_));
  const absl::Time now = clock_.Now();
  Removed removed;
  rocksdb::WriteBatch batch;
  for (tag_rows->Seek(internal::TagRangeBegin(ns, tag)); tag_rows->Valid(); tag_rows->Next()) {
    const absl::string_view key = internal::KeyOfTagRow(ToView(tag_rows->key()), ns, tag);
    batch.Delete(tags_, tag_rows->key()).PermitUncheckedError();  // Even when stale.
    const std::string row_key = internal::EntryKey(ns, key);
    LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(row_key));
    if (!row.has_value()) continue;
    std::optional<EntryView> entry = internal::DecodeEntry(*row);
    if (!entry.has_value()) return internal::UndecodableRow(ns);
    if (std::find(entry->tags.begin(), entry->tags.end(), tag) == entry->tags.end()) continue;
    DeleteTagRows(batch, ns, key, *entry);
    batch.Delete(entries_, row_key).PermitUncheckedError();
    removed.Count(*entry, now);
    if (batch.Count() < kRowsPerBatch) continue;
    LARDER_RETURN_IF_ERROR(Write(batch));
    batch.Clear();
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(tag_rows->status(), "scan"));
  if (batch.Count() > 0) LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns, removed.expired);
  return removed.live;
}

}  // namespace larder::storage

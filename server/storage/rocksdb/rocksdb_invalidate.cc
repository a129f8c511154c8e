// RocksDbEngine::Invalidate (a namespace, a key prefix, a glob pattern or a tag) and Stats: the
// two operations that scan a namespace.
//
// Invalidate holds no lock while it scans, and never a namespace-wide one:
// 1. It reads the stamp horizon (rocksdb_stamps.h): every row written from then on carries a
//    stamp at or above it, every row written before carries one below it.
// 2. It iterates over the candidate rows (entry rows of the key range, or index rows of the tag)
//    with an iterator, which reads from its own implicit snapshot, and collects up to
//    limits::kKeysPerLockedBatch keys whose rows are stamped below the horizon.
// 3. For each batch it takes the key-lock stripes of those keys only (ascending, each once),
//    re-reads their current rows with one MultiGet, keeps only the rows still stamped below the
//    horizon (a row rewritten since, even with identical bytes, carries a new stamp), deletes
//    them and their tag-index rows in one WriteBatch, counts the live ones and releases.
// So an entry written (Set, MultiSet) after the Invalidate began is never removed by it, calls
// on other namespaces wait at most for one batch that happens to share a stripe, and the count
// is exactly the live entries this call removed. Touch keeps an entry's stamp (it writes no new
// data), so an Invalidate that began before a Touch removes the touched entry.
//
// Tag index rows are only hints: a row whose entry is gone or no longer carries the tag is
// stale and is deleted under the key's stripe; one whose entry was rewritten after the
// Invalidate began is left alone.
//
// Stats scans without any lock: O(entries of the namespace), O(all entries) for "".
// ListNamespaces scans the same way, one namespace after another from the first row after the
// page's start, and stops after `limit` namespaces (those whose rows have all expired included).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/storage/glob.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "server/storage/rocksdb/rocksdb_expiry.h"
#include "server/storage/rocksdb/rocksdb_locks.h"
#include "server/storage/rocksdb/rocksdb_stamps.h"
#include "server/storage/rocksdb/rocksdb_status.h"

namespace larder::storage {
namespace {

using internal::EntryView;
using internal::ToView;

constexpr size_t kBatchKeys = static_cast<size_t>(limits::kKeysPerLockedBatch);

rocksdb::ReadOptions ScanOptions(const rocksdb::Slice* upper_bound) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.iterate_upper_bound = upper_bound;
  return read_options;
}

bool HasTag(const EntryView& entry, absl::string_view tag) {
  return std::find(entry.tags.begin(), entry.tags.end(), tag) != entry.tags.end();
}

}  // namespace

absl::StatusOr<int64_t> RocksDbEngine::Invalidate(absl::string_view ns,
                                                  const InvalidateTarget& target) {
  const uint64_t horizon = stamps_->Horizon();
  switch (target.kind) {
    case InvalidateTarget::Kind::kAll:
      return InvalidateRange(ns, "", nullptr, horizon);
    case InvalidateTarget::Kind::kPrefix:
      return InvalidateRange(ns, target.argument, nullptr, horizon);
    case InvalidateTarget::Kind::kPattern: {
      LARDER_ASSIGN_OR_RETURN(const CompiledGlob glob, CompiledGlob::Compile(target.argument));
      return InvalidateRange(ns, glob.literal_prefix(), &glob, horizon);
    }
    case InvalidateTarget::Kind::kTag:
      return InvalidateTag(ns, target.argument, horizon);
  }
  return absl::InvalidArgumentError("rocksdb: unknown invalidation kind");
}

absl::StatusOr<int64_t> RocksDbEngine::InvalidateRange(absl::string_view ns,
                                                       absl::string_view prefix,
                                                       const CompiledGlob* glob, uint64_t horizon) {
  const std::string end = internal::PrefixEnd(ns, prefix);
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> rows(db_->NewIterator(ScanOptions(&upper_bound), entries_));
  int64_t removed = 0;
  std::vector<std::string> keys;
  for (rows->Seek(internal::PrefixBegin(ns, prefix)); rows->Valid(); rows->Next()) {
    absl::string_view row_ns, key;
    if (!internal::SplitEntryKey(ToView(rows->key()), row_ns, key)) {
      return internal::UndecodableRow(ns);
    }
    if (glob != nullptr && !glob->Matches(key)) continue;
    std::optional<EntryView> entry = internal::DecodeEntry(ToView(rows->value()));
    if (!entry.has_value()) return internal::UndecodableRow(ns);
    if (entry->stamp >= horizon) continue;  // Written after the Invalidate began.
    keys.emplace_back(key);
    if (keys.size() < kBatchKeys) continue;
    LARDER_ASSIGN_OR_RETURN(const int64_t batch, RemoveBatch(ns, keys, horizon, std::nullopt));
    removed += batch;
    keys.clear();
    AfterBatch();
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(rows->status(), "scan"));
  if (!keys.empty()) {
    LARDER_ASSIGN_OR_RETURN(const int64_t batch, RemoveBatch(ns, keys, horizon, std::nullopt));
    removed += batch;
    AfterBatch();
  }
  return removed;
}

absl::StatusOr<int64_t> RocksDbEngine::InvalidateTag(absl::string_view ns, absl::string_view tag,
                                                     uint64_t horizon) {
  const std::string end = internal::TagRangeEnd(ns, tag);
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> tag_rows(db_->NewIterator(ScanOptions(&upper_bound), tags_));
  int64_t removed = 0;
  std::vector<std::string> keys;
  for (tag_rows->Seek(internal::TagRangeBegin(ns, tag)); tag_rows->Valid(); tag_rows->Next()) {
    keys.emplace_back(internal::KeyOfTagRow(ToView(tag_rows->key()), ns, tag));
    if (keys.size() < kBatchKeys) continue;
    LARDER_ASSIGN_OR_RETURN(const int64_t batch, RemoveBatch(ns, keys, horizon, tag));
    removed += batch;
    keys.clear();
    AfterBatch();
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(tag_rows->status(), "scan"));
  if (!keys.empty()) {
    LARDER_ASSIGN_OR_RETURN(const int64_t batch, RemoveBatch(ns, keys, horizon, tag));
    removed += batch;
    AfterBatch();
  }
  return removed;
}

absl::StatusOr<int64_t> RocksDbEngine::RemoveBatch(absl::string_view ns,
                                                   const std::vector<std::string>& keys,
                                                   uint64_t horizon,
                                                   std::optional<absl::string_view> tag) {
  std::vector<std::string> row_keys;
  row_keys.reserve(keys.size());
  for (const std::string& key : keys) row_keys.push_back(internal::EntryKey(ns, key));
  const std::vector<absl::string_view> views(keys.begin(), keys.end());
  internal::ScopedStripes held(key_locks_, key_locks_.StripesOf(ns, views));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> rows, ReadRows(row_keys));
  const absl::Time now = clock_.Now();
  rocksdb::WriteBatch batch;
  int64_t live = 0, expired = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<EntryView> entry;
    if (rows[i].has_value() && !(entry = internal::DecodeEntry(*rows[i])).has_value()) {
      return internal::UndecodableRow(ns);
    }
    if (entry.has_value() && entry->stamp >= horizon) continue;  // Rewritten since it began.
    if (tag.has_value() && (!entry.has_value() || !HasTag(*entry, *tag))) {
      batch.Delete(tags_, internal::TagRowKey(ns, *tag, keys[i])).PermitUncheckedError();
      continue;  // A stale index row.
    }
    if (!entry.has_value()) continue;  // Deleted since the scan saw it.
    DeleteTagRows(batch, ns, keys[i], *entry);
    batch.Delete(entries_, row_keys[i]).PermitUncheckedError();
    ++(internal::IsLive(*entry, now) ? live : expired);
  }
  if (batch.Count() > 0) LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns, expired);
  return live;
}

absl::StatusOr<EngineStats> RocksDbEngine::Stats(absl::string_view ns) {
  const std::string begin = internal::PrefixBegin(ns, "");
  const std::string end = internal::PrefixEnd(ns, "");
  const rocksdb::Slice upper_bound(end);
  std::unique_ptr<rocksdb::Iterator> rows(
      db_->NewIterator(ScanOptions(ns.empty() ? nullptr : &upper_bound), entries_));
  const absl::Time now = clock_.Now();
  EngineStats stats;
  size_t scanned = 0;
  for (ns.empty() ? rows->SeekToFirst() : rows->Seek(begin); rows->Valid(); rows->Next()) {
    absl::string_view row_ns, key;
    std::optional<EntryView> entry = internal::DecodeEntry(ToView(rows->value()));
    if (!internal::SplitEntryKey(ToView(rows->key()), row_ns, key) || !entry.has_value()) {
      return internal::UndecodableRow(row_ns);
    }
    if (++scanned % kBatchKeys == 0) AfterBatch();
    if (!internal::IsLive(*entry, now)) continue;
    ++stats.entries;
    stats.bytes += static_cast<int64_t>(key.size() + entry->value.size());
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(rows->status(), "scan"));
  stats.expirations = expirations_->Get(ns);
  return stats;
}

absl::StatusOr<NamespaceList> RocksDbEngine::ListNamespaces(absl::string_view after, size_t limit) {
  // Namespaces never contain '\0', so `after` '\1' sorts after its rows and before any later
  // namespace's.
  const std::string start = after.empty() ? std::string() : absl::StrCat(after, "\x01");
  std::unique_ptr<rocksdb::Iterator> rows(db_->NewIterator(ScanOptions(nullptr), entries_));
  const absl::Time now = clock_.Now();
  NamespaceList list;
  NamespaceInfo current;
  size_t examined = 0, scanned = 0;
  for (rows->Seek(start); rows->Valid(); rows->Next()) {
    absl::string_view row_ns, key;
    std::optional<EntryView> entry = internal::DecodeEntry(ToView(rows->value()));
    if (!internal::SplitEntryKey(ToView(rows->key()), row_ns, key) || !entry.has_value()) {
      return internal::UndecodableRow(row_ns);
    }
    if (row_ns != current.name) {
      if (examined == limit) {
        list.resume_after = current.name;
        break;
      }
      if (current.entries > 0) list.namespaces.push_back(current);
      current = NamespaceInfo{std::string(row_ns)};
      ++examined;
    }
    if (++scanned % kBatchKeys == 0) AfterBatch();
    if (!internal::IsLive(*entry, now)) continue;
    ++current.entries;
    current.bytes += static_cast<int64_t>(key.size() + entry->value.size());
  }
  LARDER_RETURN_IF_ERROR(internal::FromRocksDb(rows->status(), "scan"));
  if (current.entries > 0) list.namespaces.push_back(std::move(current));
  return list;
}

}  // namespace larder::storage

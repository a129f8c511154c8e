// RocksDbEngine::Set and MultiSet: the writes of new entries.
//
// Both evaluate each item with StageSet against the key's current row under the key's stripe,
// stamp the new row (rocksdb_stamps.h) and write everything in one WriteBatch. MultiSet holds
// the stripes of all its keys (ascending, each once) for the whole call, reads every current row
// with one MultiGet, evaluates the items in order against the state left by the earlier items
// (so a later item of the same key sees the earlier one), and writes once: when any read,
// decode or write fails, nothing of the call is stored.
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/storage/rocksdb/rocksdb_codec.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "server/storage/rocksdb/rocksdb_expiry.h"
#include "server/storage/rocksdb/rocksdb_locks.h"
#include "server/storage/rocksdb/rocksdb_stamps.h"
#include "server/storage/rocksdb/rocksdb_status.h"

namespace larder::storage {
namespace {

using internal::EntryView;

// The SetResult of a Set that `live` (the current live entry, if any) refuses, or nullopt.
std::optional<SetResult> RefusedBy(const SetOptions& options,
                                   const std::optional<EntryView>& live) {
  if (options.if_absent && live.has_value()) return SetResult{false, std::string(live->etag)};
  if (!options.if_match.has_value()) return std::nullopt;
  if (!live.has_value()) return SetResult{false, std::string()};
  if (!IfMatchMatches(*options.if_match, live->etag)) {
    return SetResult{false, std::string(live->etag)};
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<SetResult> RocksDbEngine::StageSet(rocksdb::WriteBatch& batch, absl::string_view ns,
                                                  absl::string_view key, absl::string_view value,
                                                  const SetOptions& options, absl::Time now,
                                                  std::optional<std::string>& row,
                                                  int64_t& expired) {
  std::optional<EntryView> current;
  if (row.has_value() && !(current = internal::DecodeEntry(*row)).has_value()) {
    return internal::UndecodableRow(ns);
  }
  const bool is_expired = current.has_value() && !internal::IsLive(*current, now);
  std::optional<SetResult> refused = RefusedBy(options, is_expired ? std::nullopt : current);
  if (refused.has_value() && !is_expired) return *std::move(refused);
  const std::string row_key = internal::EntryKey(ns, key);
  if (current.has_value()) DeleteTagRows(batch, ns, key, *current);
  if (is_expired) ++expired;
  if (refused.has_value()) {  // The expired entry is reclaimed all the same.
    batch.Delete(entries_, row_key).PermitUncheckedError();
    row.reset();
    return *std::move(refused);
  }
  LARDER_ASSIGN_OR_RETURN(const uint64_t stamp, stamps_->Next());
  const int64_t expiry = internal::ExpiryMicros(options.expires_at);
  std::string new_row = internal::EncodeEntry({expiry, options.etag, &options.tags, value, stamp});
  batch.Put(entries_, row_key, new_row).PermitUncheckedError();
  PutTagRows(batch, ns, key,
             std::vector<absl::string_view>(options.tags.begin(), options.tags.end()), expiry);
  row = std::move(new_row);  // `current` viewed the old row: not used past this point.
  return SetResult{true, options.etag};
}

absl::StatusOr<SetResult> RocksDbEngine::Set(absl::string_view ns, absl::string_view key,
                                             absl::string_view value, const SetOptions& options) {
  const absl::Time now = clock_.Now();
  absl::MutexLock key_lock(&key_locks_.For(ns, key));
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> row, ReadRow(internal::EntryKey(ns, key)));
  rocksdb::WriteBatch batch;
  int64_t expired = 0;
  LARDER_ASSIGN_OR_RETURN(SetResult result,
                          StageSet(batch, ns, key, value, options, now, row, expired));
  if (batch.Count() > 0) LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns, expired);
  return result;
}

absl::StatusOr<std::vector<SetResult>> RocksDbEngine::MultiSet(absl::string_view ns,
                                                               const std::vector<SetItem>& items) {
  const absl::Time now = clock_.Now();
  std::vector<absl::string_view> keys;
  std::vector<std::string> row_keys;
  keys.reserve(items.size());
  row_keys.reserve(items.size());
  for (const SetItem& item : items) {
    keys.push_back(item.key);
    row_keys.push_back(internal::EntryKey(ns, item.key));
  }
  internal::ScopedStripes held(key_locks_, key_locks_.StripesOf(ns, keys));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> rows, ReadRows(row_keys));
  // The state of each key lives in the row slot of its first item.
  absl::flat_hash_map<absl::string_view, size_t> slot_of;
  rocksdb::WriteBatch batch;
  int64_t expired = 0;
  std::vector<SetResult> results;
  results.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const SetItem& item = items[i];
    const size_t slot = slot_of.try_emplace(item.key, i).first->second;
    LARDER_ASSIGN_OR_RETURN(SetResult result, StageSet(batch, ns, item.key, item.value,
                                                       item.options, now, rows[slot], expired));
    results.push_back(std::move(result));
  }
  if (batch.Count() > 0) LARDER_RETURN_IF_ERROR(Write(batch));
  expirations_->Add(ns, expired);
  return results;
}

}  // namespace larder::storage

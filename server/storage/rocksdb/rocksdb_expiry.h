// Expiry bookkeeping of the RocksDB engine: the compaction filter that drops rows whose expiry
// has passed by the injected Clock, and the per-namespace count of expired entries removed.
// Internal to server/storage/rocksdb.
//
//   ExpirationCounter expirations;
//   ExpiryCompactionFilter filter(clock, &expirations);   // counts what it drops
//   cf_options.compaction_filter = &filter;
#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "rocksdb/compaction_filter.h"

namespace larder::storage::internal {

// Expired entries removed since the engine opened, per namespace. Thread-safe.
//
// Bounded: counts are kept for at most `max_namespaces` namespaces (the first ones to expire
// something). Expirations of any other namespace go to one "other" bucket: they count in the
// total (Get("")) but Get(ns) of such a namespace is 0. Memory is O(max_namespaces * 128 bytes).
class ExpirationCounter {
 public:
  // Default: 4096 namespaces (about 1 MiB at most).
  static constexpr size_t kDefaultMaxNamespaces = 4096;

  explicit ExpirationCounter(size_t max_namespaces = kDefaultMaxNamespaces)
      : max_namespaces_(max_namespaces) {}

  void Add(absl::string_view ns, int64_t count = 1) ABSL_LOCKS_EXCLUDED(mutex_);
  // The count of `ns`, or of every namespace (the other bucket included) when `ns` is empty.
  // O(1).
  int64_t Get(absl::string_view ns) const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  const size_t max_namespaces_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mutex_);
  int64_t total_ ABSL_GUARDED_BY(mutex_) = 0;
};

// Drops every row (entry or tag-index row) whose leading expiry is <= clock.Now(). RocksDB turns
// a removal above the bottom level into a tombstone, so an older version of the key never
// resurfaces. Thread-safe, as RocksDB requires of a shared filter.
class ExpiryCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  // `expirations` (nullable) is told the namespace of every dropped row.
  ExpiryCompactionFilter(const Clock& clock, ExpirationCounter* expirations)
      : clock_(clock), expirations_(expirations) {}

  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& existing_value,
              std::string* new_value, bool* value_changed) const override;
  const char* Name() const override { return "larder.ExpiryCompactionFilter"; }

 private:
  const Clock& clock_;
  ExpirationCounter* const expirations_;
};

}  // namespace larder::storage::internal

// Write stamps of the RocksDB engine: every entry row carries one, and stamps only grow, across
// writes and across restarts of the same database. Invalidate reads Horizon() when it begins and
// removes only rows stamped below it, so an entry written after it began always survives it
// (rocksdb_invalidate.cc). Internal to server/storage/rocksdb.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<StampAllocator> stamps, StampAllocator::Open(*db, family));
//   const uint64_t horizon = stamps->Horizon();          // Invalidate begins
//   ASSIGN_OR_RETURN(uint64_t stamp, stamps->Next());    // a later Set: stamp >= horizon
//
// A stamp is epoch << kCounterBits | counter. The epoch is persisted (synced) in the default
// column family: each Open takes the next epoch, and an epoch is persisted before any stamp of it
// is handed out, so a stamp of this process is above every stamp of an earlier one. The counter
// is an in-memory atomic; when it runs out (2^40 writes) the next epoch is persisted and used.
// Rows written before stamps existed decode with stamp 0, below every stamp handed out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace larder::storage::internal {

// The row of the default column family that holds the last epoch taken.
inline constexpr char kStampEpochRow[] = "larder.stamp_epoch";

// Thread-safe.
class StampAllocator {
 public:
  static constexpr int kCounterBits = 40;
  static constexpr uint64_t kMaxEpoch = (uint64_t{1} << (64 - kCounterBits)) - 1;

  // Takes the next epoch of the database (`family` is where it is kept) and persists it with a
  // synced write. Errors as FromRocksDb; kDataLoss when the stored epoch is malformed; kInternal
  // when every epoch has been used.
  static absl::StatusOr<std::unique_ptr<StampAllocator>> Open(rocksdb::DB& db,
                                                              rocksdb::ColumnFamilyHandle* family);

  // A stamp greater than every stamp handed out before, by this allocator or an earlier Open of
  // the same database. Only fails (kUnavailable, ...) when the counter of the epoch has run out
  // and the next epoch cannot be persisted.
  absl::StatusOr<uint64_t> Next() ABSL_LOCKS_EXCLUDED(mutex_);

  // Every stamp handed out before this call is below the value returned; every stamp handed out
  // after it is at or above it.
  uint64_t Horizon() const { return next_.load(std::memory_order_acquire); }

 private:
  StampAllocator(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family, uint64_t epoch);

  // Persists epochs until `epoch` is reserved.
  absl::Status ReserveEpoch(uint64_t epoch) ABSL_LOCKS_EXCLUDED(mutex_);

  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle* const family_;
  std::atomic<uint64_t> next_;
  // The highest epoch persisted; stamps of epochs up to it may be handed out.
  std::atomic<uint64_t> reserved_epoch_;
  absl::Mutex mutex_;  // Serialises persisting epochs.
};

// Reads and writes the epoch row (exposed for tests).
absl::StatusOr<uint64_t> ReadStampEpoch(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family);
absl::Status WriteStampEpoch(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family, uint64_t epoch);

}  // namespace larder::storage::internal

#include "server/storage/rocksdb/rocksdb_stamps.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "rocksdb/db.h"
#include "server/storage/rocksdb/rocksdb_status.h"

namespace larder::storage::internal {

absl::StatusOr<uint64_t> ReadStampEpoch(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
  std::string bytes;
  rocksdb::Status status = db.Get(rocksdb::ReadOptions(), family, kStampEpochRow, &bytes);
  if (status.IsNotFound()) return 0;
  LARDER_RETURN_IF_ERROR(FromRocksDb(status, "read stamp epoch"));
  if (bytes.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("rocksdb: malformed stamp epoch row (", bytes.size(), " bytes)"));
  }
  uint64_t epoch = 0;
  for (int i = 0; i < 8; ++i) {
    epoch |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return epoch;
}

absl::Status WriteStampEpoch(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family, uint64_t epoch) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((epoch >> (8 * i)) & 0xff));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;  // Before any stamp of the epoch reaches a row.
  return FromRocksDb(db.Put(write_options, family, kStampEpochRow, bytes), "write stamp epoch");
}

absl::StatusOr<std::unique_ptr<StampAllocator>> StampAllocator::Open(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
  LARDER_ASSIGN_OR_RETURN(const uint64_t last, ReadStampEpoch(db, family));
  if (last >= kMaxEpoch - 1) {
    return absl::InternalError("rocksdb: every write-stamp epoch has been used");
  }
  LARDER_RETURN_IF_ERROR(WriteStampEpoch(db, family, last + 1));
  return std::unique_ptr<StampAllocator>(new StampAllocator(db, family, last + 1));
}

StampAllocator::StampAllocator(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family, uint64_t epoch)
    : db_(db), family_(family), next_(epoch << kCounterBits), reserved_epoch_(epoch) {}

absl::StatusOr<uint64_t> StampAllocator::Next() {
  uint64_t stamp = next_.load(std::memory_order_relaxed);
  do {
    if ((stamp >> kCounterBits) >= kMaxEpoch) {
      return absl::InternalError("rocksdb: every write stamp has been used");
    }
  } while (!next_.compare_exchange_weak(stamp, stamp + 1, std::memory_order_acq_rel,
                                        std::memory_order_relaxed));
  const uint64_t epoch = stamp >> kCounterBits;
  if (epoch > reserved_epoch_.load(std::memory_order_acquire)) {
    LARDER_RETURN_IF_ERROR(ReserveEpoch(epoch));
  }
  return stamp;
}

absl::Status StampAllocator::ReserveEpoch(uint64_t epoch) {
  absl::MutexLock lock(&mutex_);
  for (uint64_t next = reserved_epoch_.load() + 1; next <= epoch; ++next) {
    LARDER_RETURN_IF_ERROR(WriteStampEpoch(db_, family_, next));
    reserved_epoch_.store(next, std::memory_order_release);
  }
  return absl::OkStatus();
}

}  // namespace larder::storage::internal

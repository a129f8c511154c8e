// Conversions between RocksDB's types and larder's: rocksdb::Status to absl::Status (the one
// place that decides the status code of a RocksDB failure), and rocksdb::Slice to
// absl::string_view. Internal to server/storage/rocksdb.
//
//   LARDER_RETURN_IF_ERROR(FromRocksDb(db->Write(options, &batch), "write"));
#pragma once

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"

namespace larder::storage::internal {

// The larder code of a failed RocksDB status, following the StorageEngine contract:
// - Corruption (checksum mismatch, torn file, bad manifest): kDataLoss, retrying reads the same
//   bad bytes.
// - Trouble that may pass (I/O errors including a full disk, a busy or timed-out lock, a write
//   stall, an aborted or incomplete operation, shutdown in progress): kUnavailable, which
//   clients retry.
// - Everything else (NotSupported, InvalidArgument, a dropped column family, an unexpected
//   NotFound): the backend refuses for good, kInternal.
inline absl::StatusCode CodeOf(const rocksdb::Status& status) {
  switch (status.code()) {
    case rocksdb::Status::kOk:
      return absl::StatusCode::kOk;
    case rocksdb::Status::kCorruption:
      return absl::StatusCode::kDataLoss;
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kCompactionTooLarge:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

// OK stays OK; any other RocksDB status becomes CodeOf(status) with a message naming the
// operation ("rocksdb: read: Corruption: block checksum mismatch ...").
inline absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view operation) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(CodeOf(status),
                      absl::StrCat("rocksdb: ", operation, ": ", status.ToString()));
}

inline absl::string_view ToView(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

inline rocksdb::Slice ToSlice(absl::string_view view) {
  return rocksdb::Slice(view.data(), view.size());
}

// An entry row that does not decode: the database holds data this build cannot read.
inline absl::Status UndecodableRow(absl::string_view ns) {
  return absl::DataLossError(
      absl::StrCat("rocksdb: undecodable entry row in namespace \"", ns, "\""));
}

}  // namespace larder::storage::internal

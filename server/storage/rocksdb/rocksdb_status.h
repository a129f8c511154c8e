// Conversions between RocksDB's types and larder's: rocksdb::Status to absl::Status, and
// rocksdb::Slice to absl::string_view. Internal to server/storage/rocksdb.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"

namespace larder::storage::internal {

// OK stays OK; any other RocksDB status is an I/O problem of the backend: kUnavailable,
// naming the operation.
inline absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view operation) {
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("rocksdb: ", operation, ": ", status.ToString()));
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

#include "server/storage/rocksdb/rocksdb_expiry.h"

#include "server/storage/rocksdb/rocksdb_codec.h"

namespace larder::storage::internal {

void ExpirationCounter::Add(absl::string_view ns, int64_t count) {
  if (count == 0) return;
  absl::MutexLock lock(&mutex_);
  total_ += count;
  auto it = counts_.find(ns);
  if (it != counts_.end()) {
    it->second += count;
  } else if (counts_.size() < max_namespaces_) {
    counts_.emplace(ns, count);
  }  // Else only in the total: the "other" bucket.
}

int64_t ExpirationCounter::Get(absl::string_view ns) const {
  absl::MutexLock lock(&mutex_);
  if (ns.empty()) return total_;
  auto it = counts_.find(ns);
  return it == counts_.end() ? 0 : it->second;
}

bool ExpiryCompactionFilter::Filter(int /*level*/, const rocksdb::Slice& key,
                                    const rocksdb::Slice& existing_value,
                                    std::string* /*new_value*/, bool* /*value_changed*/) const {
  std::optional<int64_t> expiry =
      ReadExpiry(absl::string_view(existing_value.data(), existing_value.size()));
  if (!expiry.has_value() || *expiry == kNeverExpiresMicros) return false;
  if (ExpiryTime(*expiry) > clock_.Now()) return false;
  if (expirations_ != nullptr) {
    absl::string_view row_key(key.data(), key.size());
    absl::string_view ns, user_key;
    if (SplitEntryKey(row_key, ns, user_key)) expirations_->Add(ns);
  }
  return true;
}

}  // namespace larder::storage::internal

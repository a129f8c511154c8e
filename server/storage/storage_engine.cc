#include "server/storage/storage_engine.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace larder::storage {

absl::StatusOr<LeaseResult> StorageEngine::Lease(absl::string_view ns, absl::string_view key,
                                                 absl::Duration lease_ttl) {
  (void)ns, (void)key, (void)lease_ttl;
  return absl::UnimplementedError(absl::StrCat("the ", name(), " engine has no leases"));
}

absl::StatusOr<bool> StorageEngine::EndLease(absl::string_view ns, absl::string_view key,
                                             absl::string_view token) {
  (void)ns, (void)key, (void)token;
  return false;
}

absl::StatusOr<NamespaceList> StorageEngine::ListNamespaces(absl::string_view after, size_t limit) {
  (void)after, (void)limit;
  return absl::UnimplementedError(
      absl::StrCat("the ", name(), " engine cannot list its namespaces"));
}

absl::Status CheckInvalidateSupported(const StorageEngine& engine, const InvalidateTarget& target) {
  const EngineCapabilities capabilities = engine.capabilities();
  const char* call = nullptr;
  if (target.kind == InvalidateTarget::Kind::kPrefix && !capabilities.invalidate_prefix) {
    call = "Invalidate by prefix";
  }
  if (target.kind == InvalidateTarget::Kind::kPattern && !capabilities.invalidate_pattern) {
    call = "Invalidate by pattern";
  }
  if (call == nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(call, " is not supported by the ", engine.name(),
                   " engine: it cannot enumerate keys (use Invalidate all or tags)"));
}

absl::StatusOr<std::vector<std::optional<StoredEntry>>> StorageEngine::MultiGet(
    absl::string_view ns, const std::vector<absl::string_view>& keys) {
  std::vector<std::optional<StoredEntry>> entries;
  entries.reserve(keys.size());
  for (absl::string_view key : keys) {
    absl::StatusOr<std::optional<StoredEntry>> entry = Get(ns, key);
    if (!entry.ok()) return std::move(entry).status();
    entries.push_back(*std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<SetResult>> StorageEngine::MultiSet(absl::string_view ns,
                                                               const std::vector<SetItem>& items) {
  std::vector<SetResult> results;
  results.reserve(items.size());
  for (const SetItem& item : items) {
    absl::StatusOr<SetResult> result = Set(ns, item.key, item.value, item.options);
    if (!result.ok()) return std::move(result).status();
    results.push_back(*std::move(result));
  }
  return results;
}

}  // namespace larder::storage

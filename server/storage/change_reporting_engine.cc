#include "server/storage/change_reporting_engine.h"

#include <utility>

namespace larder::storage {
namespace {

ChangeKind KindOf(InvalidateTarget::Kind kind) {
  switch (kind) {
    case InvalidateTarget::Kind::kAll:
      return ChangeKind::kAll;
    case InvalidateTarget::Kind::kPrefix:
      return ChangeKind::kPrefix;
    case InvalidateTarget::Kind::kPattern:
      return ChangeKind::kPattern;
    case InvalidateTarget::Kind::kTag:
      return ChangeKind::kTag;
  }
  return ChangeKind::kAll;
}

}  // namespace

std::unique_ptr<StorageEngine> WithChangeReports(std::unique_ptr<StorageEngine> engine,
                                                 ChangeListener& listener) {
  if (engine->WatchChanges(&listener)) return engine;
  // Every write goes through the wrapper from now on: changes are followed from the start.
  listener.OnLive();
  return std::make_unique<ChangeReportingEngine>(std::move(engine), listener);
}

absl::StatusOr<SetResult> ChangeReportingEngine::Set(absl::string_view ns, absl::string_view key,
                                                     absl::string_view value,
                                                     const SetOptions& options) {
  absl::StatusOr<SetResult> result = engine_->Set(ns, key, value, options);
  if (result.ok() && result->stored) listener_.OnChange(ns, ChangeKind::kKey, key);
  return result;
}

absl::StatusOr<std::vector<SetResult>> ChangeReportingEngine::MultiSet(
    absl::string_view ns, const std::vector<SetItem>& items) {
  absl::StatusOr<std::vector<SetResult>> results = engine_->MultiSet(ns, items);
  if (!results.ok()) return results;
  for (size_t i = 0; i < items.size() && i < results->size(); ++i) {
    if ((*results)[i].stored) listener_.OnChange(ns, ChangeKind::kKey, items[i].key);
  }
  return results;
}

absl::StatusOr<bool> ChangeReportingEngine::Delete(absl::string_view ns, absl::string_view key) {
  absl::StatusOr<bool> deleted = engine_->Delete(ns, key);
  if (deleted.ok() && *deleted) listener_.OnChange(ns, ChangeKind::kKey, key);
  return deleted;
}

absl::StatusOr<std::optional<std::string>> ChangeReportingEngine::Touch(absl::string_view ns,
                                                                        absl::string_view key,
                                                                        absl::Time expires_at) {
  absl::StatusOr<std::optional<std::string>> touched = engine_->Touch(ns, key, expires_at);
  if (touched.ok() && touched->has_value()) listener_.OnChange(ns, ChangeKind::kKey, key);
  return touched;
}

absl::StatusOr<int64_t> ChangeReportingEngine::Invalidate(absl::string_view ns,
                                                          const InvalidateTarget& target) {
  absl::StatusOr<int64_t> removed = engine_->Invalidate(ns, target);
  // Reported even when it failed part-way: what it removed before failing may be held by a
  // watcher.
  listener_.OnChange(ns, KindOf(target.kind), target.argument);
  return removed;
}

}  // namespace larder::storage

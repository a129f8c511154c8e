// ChangeReportingEngine: reports the writes made through an engine to a ChangeListener, for the
// Watch stream, when the engine cannot report them itself (memory, RocksDB: every write goes
// through this larderd). Every call is the wrapped engine's; after one succeeds, Set and MultiSet
// report each key stored, Delete a key removed, Touch a key found, and Invalidate its target
// once it has removed everything it covers (so a watcher that drops its copies and reads again
// cannot read an entry the Invalidate was about to remove).
//
//   std::unique_ptr<StorageEngine> engine = WithChangeReports(std::move(memory), hub);
#pragma once

#include <memory>

#include "server/storage/change_listener.h"
#include "server/storage/forwarding_engine.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

// `engine`, reporting its writes to `listener` (which must outlive it). Calls
// engine->WatchChanges(&listener) first, for what the engine reports itself (memory: evictions);
// returns `engine` unwrapped when it reports every change itself (Redis: it calls OnLive once
// its feed is up), else wraps it and calls listener.OnLive().
std::unique_ptr<StorageEngine> WithChangeReports(std::unique_ptr<StorageEngine> engine,
                                                 ChangeListener& listener);

class ChangeReportingEngine final : public ForwardingEngine {
 public:
  ChangeReportingEngine(std::unique_ptr<StorageEngine> engine, ChangeListener& listener)
      : ForwardingEngine(std::move(engine)), listener_(listener) {}

  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                  const std::vector<SetItem>& items) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;

 private:
  ChangeListener& listener_;
};

}  // namespace larder::storage

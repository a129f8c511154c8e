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
#include "server/storage/storage_engine.h"

namespace larder::storage {

// `engine`, reporting its writes to `listener` (which must outlive it). Calls
// engine->WatchChanges(&listener) first, for what the engine reports itself (memory: evictions);
// returns `engine` unwrapped when it reports every change itself (Redis: it calls OnLive once
// its feed is up), else wraps it and calls listener.OnLive().
std::unique_ptr<StorageEngine> WithChangeReports(std::unique_ptr<StorageEngine> engine,
                                                 ChangeListener& listener);

class ChangeReportingEngine final : public StorageEngine {
 public:
  ChangeReportingEngine(std::unique_ptr<StorageEngine> engine, ChangeListener& listener)
      : engine_(std::move(engine)), listener_(listener) {}

  absl::string_view name() const override { return engine_->name(); }
  bool blocking() const override { return engine_->blocking(); }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override {
    return engine_->Get(ns, key);
  }
  bool GetAsync(absl::string_view ns, absl::string_view key, GetCallback& done) override {
    return engine_->GetAsync(ns, key, done);
  }
  bool MultiGetAsync(absl::string_view ns, const std::vector<absl::string_view>& keys,
                     MultiGetCallback& done) override {
    return engine_->MultiGetAsync(ns, keys, done);
  }
  absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGet(
      absl::string_view ns, const std::vector<absl::string_view>& keys) override {
    return engine_->MultiGet(ns, keys);
  }
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override { return engine_->Stats(ns); }
  absl::Status CheckHealth() override { return engine_->CheckHealth(); }
  absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                    absl::Duration lease_ttl) override {
    return engine_->Lease(ns, key, lease_ttl);
  }

  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                  const std::vector<SetItem>& items) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;

  StorageEngine& wrapped() { return *engine_; }

 private:
  std::unique_ptr<StorageEngine> engine_;
  ChangeListener& listener_;
};

}  // namespace larder::storage

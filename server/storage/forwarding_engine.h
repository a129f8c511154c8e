// ForwardingEngine: a StorageEngine that passes every call to the engine it wraps, for
// decorators that add to some calls (LeasingEngine, ChangeReportingEngine) to override only
// those.
//
//   class CountingEngine final : public ForwardingEngine {
//    public:
//     using ForwardingEngine::ForwardingEngine;
//     absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override {
//       ++deletes_;
//       return ForwardingEngine::Delete(ns, key);
//     }
//   };
#pragma once

#include <memory>
#include <utility>

#include "server/storage/storage_engine.h"

namespace larder::storage {

class ForwardingEngine : public StorageEngine {
 public:
  explicit ForwardingEngine(std::unique_ptr<StorageEngine> engine) : engine_(std::move(engine)) {}

  absl::string_view name() const override { return engine_->name(); }
  EngineCapabilities capabilities() const override { return engine_->capabilities(); }
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
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override {
    return engine_->Set(ns, key, value, options);
  }
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                  const std::vector<SetItem>& items) override {
    return engine_->MultiSet(ns, items);
  }
  absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                    absl::Duration lease_ttl) override {
    return engine_->Lease(ns, key, lease_ttl);
  }
  absl::StatusOr<bool> EndLease(absl::string_view ns, absl::string_view key,
                                absl::string_view token) override {
    return engine_->EndLease(ns, key, token);
  }
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override {
    return engine_->Delete(ns, key);
  }
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override {
    return engine_->Touch(ns, key, expires_at);
  }
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns,
                                     const InvalidateTarget& target) override {
    return engine_->Invalidate(ns, target);
  }
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override { return engine_->Stats(ns); }
  absl::Status CheckHealth() override { return engine_->CheckHealth(); }
  absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit) override {
    return engine_->ListNamespaces(after, limit);
  }
  bool WatchChanges(ChangeListener* listener) override { return engine_->WatchChanges(listener); }

  StorageEngine& wrapped() { return *engine_; }

 protected:
  const std::unique_ptr<StorageEngine> engine_;
};

}  // namespace larder::storage

// LeasingResponseStore: a test double of ResponseStore with leases, over InMemoryResponseStore.
// Lease plays back scripted answers (a StoreLease or an error), then answers kLive when the key
// holds an entry and kNone otherwise; StoreLeased records the key and token and can be told to
// refuse (a voided lease); ReleaseLease is recorded.
//
//   auto store = std::make_shared<LeasingResponseStore>(in_memory);
//   store->Script({Granted("t1")});
//   store->set_refuse_leased(true);   // the next StoreLeased answers false, storing nothing
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "tests/http/in_memory_response_store.h"

namespace larder::http::testing {

inline StoreLease Granted(std::string token) {
  return StoreLease{StoreLease::State::kGranted, std::move(token)};
}
inline StoreLease Wait() { return StoreLease{StoreLease::State::kWait, ""}; }

class LeasingResponseStore final : public ResponseStore {
 public:
  explicit LeasingResponseStore(std::shared_ptr<InMemoryResponseStore> inner)
      : inner_(std::move(inner)) {}

  absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view ns, absl::string_view key,
                                                       LookupPurpose purpose) override {
    return inner_->Lookup(ns, key, purpose);
  }
  absl::Status Store(absl::string_view ns, absl::string_view key, const StoredResponse& response,
                     absl::Duration ttl, const std::vector<std::string>& tags) override {
    {
      absl::MutexLock lock(&mutex_);
      stored_keys_.push_back(std::string(key));
    }
    return inner_->Store(ns, key, response, ttl, tags);
  }
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag) override {
    return inner_->InvalidateTag(ns, tag);
  }
  absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view ns,
                                           absl::string_view prefix) override {
    return inner_->InvalidatePrefix(ns, prefix);
  }

  absl::StatusOr<StoreLease> Lease(absl::string_view ns, absl::string_view key,
                                   absl::Duration lease_ttl) override {
    {
      absl::MutexLock lock(&mutex_);
      lease_ttls_.push_back(lease_ttl);
      if (always_wait_) return Wait();
      if (!script_.empty()) {
        absl::StatusOr<StoreLease> answer = std::move(script_.front());
        script_.pop_front();
        return answer;
      }
    }
    auto found = inner_->Lookup(ns, key, LookupPurpose::kRecheck);
    if (found.ok() && found->has_value()) return StoreLease{StoreLease::State::kLive, ""};
    return StoreLease{};
  }
  absl::StatusOr<bool> StoreLeased(absl::string_view ns, absl::string_view key,
                                   const StoredResponse& response, absl::Duration ttl,
                                   const std::vector<std::string>& tags,
                                   absl::string_view lease_token) override {
    {
      absl::MutexLock lock(&mutex_);
      leased_stores_.push_back({std::string(key), std::string(lease_token)});
      stored_keys_.push_back(std::string(key));
      if (refuse_leased_) return false;
    }
    absl::Status stored = inner_->Store(ns, key, response, ttl, tags);
    if (!stored.ok()) return stored;
    return true;
  }
  absl::Status ReleaseLease(absl::string_view /*ns*/, absl::string_view key,
                            absl::string_view lease_token) override {
    absl::MutexLock lock(&mutex_);
    released_.push_back({std::string(key), std::string(lease_token)});
    return absl::OkStatus();
  }

  void Script(std::vector<absl::StatusOr<StoreLease>> answers) {
    absl::MutexLock lock(&mutex_);
    script_.assign(answers.begin(), answers.end());
  }
  void set_always_wait(bool always) {
    absl::MutexLock lock(&mutex_);
    always_wait_ = always;
  }
  void set_refuse_leased(bool refuse) {
    absl::MutexLock lock(&mutex_);
    refuse_leased_ = refuse;
  }
  int leases() {
    absl::MutexLock lock(&mutex_);
    return static_cast<int>(lease_ttls_.size());
  }
  std::vector<absl::Duration> lease_ttls() {
    absl::MutexLock lock(&mutex_);
    return lease_ttls_;
  }
  // (key, token) of every StoreLeased / ReleaseLease.
  std::vector<std::pair<std::string, std::string>> leased_stores() {
    absl::MutexLock lock(&mutex_);
    return leased_stores_;
  }
  std::vector<std::pair<std::string, std::string>> released() {
    absl::MutexLock lock(&mutex_);
    return released_;
  }
  // Keys of every Store and StoreLeased, in order.
  std::vector<std::string> stored_keys() {
    absl::MutexLock lock(&mutex_);
    return stored_keys_;
  }

 private:
  const std::shared_ptr<InMemoryResponseStore> inner_;
  absl::Mutex mutex_;
  std::deque<absl::StatusOr<StoreLease>> script_ ABSL_GUARDED_BY(mutex_);
  bool always_wait_ ABSL_GUARDED_BY(mutex_) = false;
  bool refuse_leased_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<absl::Duration> lease_ttls_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::pair<std::string, std::string>> leased_stores_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::pair<std::string, std::string>> released_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> stored_keys_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::http::testing

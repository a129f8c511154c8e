// SingleFlightGroup: at most one computation per key in a process; concurrent callers of the
// same key wait for it and share its outcome (a value, a stale value served early, or an
// exception). Used by cached functions; not part of the stable API.
//
//   SingleFlightGroup<User> group;
//   auto [flight, leader] = group.Join(key);
//   if (!leader) return flight->Wait().value;  // rethrows the leader's exception
//   ... compute, then flight->Publish(value, result) and group.Finish(key, flight) ...
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "larder/client_metrics.h"

namespace larder::internal {

// The shared outcome of one computation. Thread-safe.
template <typename R>
class Flight {
 public:
  struct Outcome {
    R value;
    // How the leader's lookup ended; waiters count themselves under it.
    LookupResult result;
    // For kError: why (its code labels the waiters' error counts too).
    absl::Status error;
  };

  // Blocks until something is published; returns a copy of it, or rethrows the exception.
  Outcome Wait() const {
    absl::MutexLock lock(&mutex_, absl::Condition(this, &Flight::HasAnswerLocked));
    if (outcome_.has_value()) return *outcome_;
    std::rethrow_exception(error_);
  }

  // Publishes a value. The first publication wins: a stale value published while refreshing
  // is what waiters get, even when the fresh one follows.
  void Publish(const R& value, LookupResult result, absl::Status error = absl::OkStatus()) {
    absl::MutexLock lock(&mutex_);
    if (!HasAnswerLocked()) outcome_.emplace(Outcome{value, result, std::move(error)});
  }
  void PublishException(std::exception_ptr error) {
    absl::MutexLock lock(&mutex_);
    if (!HasAnswerLocked()) error_ = std::move(error);
  }

 private:
  bool HasAnswerLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return outcome_.has_value() || error_ != nullptr;
  }

  mutable absl::Mutex mutex_;
  std::optional<Outcome> outcome_ ABSL_GUARDED_BY(mutex_);
  std::exception_ptr error_ ABSL_GUARDED_BY(mutex_);
};

// Thread-safe.
template <typename R>
class SingleFlightGroup {
 public:
  struct Joined {
    std::shared_ptr<Flight<R>> flight;
    // True for the caller that must compute and publish, then call Finish.
    bool leader;
  };

  Joined Join(absl::string_view key) {
    absl::MutexLock lock(&mutex_);
    auto [it, inserted] = flights_.try_emplace(key);
    if (inserted) it->second = std::make_shared<Flight<R>>();
    return Joined{it->second, inserted};
  }

  // Ends the leader's flight: later callers of `key` start a new one.
  void Finish(absl::string_view key, const std::shared_ptr<Flight<R>>& flight) {
    absl::MutexLock lock(&mutex_);
    auto it = flights_.find(key);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }

  // The keys with a computation in flight (for tests and introspection).
  size_t in_flight() const {
    absl::MutexLock lock(&mutex_);
    return flights_.size();
  }

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight<R>>> flights_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::internal

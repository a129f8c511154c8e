#include "client/src/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace larder::client::internal {

Idempotency IdempotencyOf(const SetOptions& options) {
  const bool conditional =
      options.if_absent || !options.if_match.empty() || !options.lease_token.empty();
  return conditional ? Idempotency::kAtMostOnce : Idempotency::kIdempotent;
}

Idempotency IdempotencyOf(const std::vector<SetEntry>& entries) {
  for (const SetEntry& entry : entries) {
    if (IdempotencyOf(entry.options) == Idempotency::kAtMostOnce) return Idempotency::kAtMostOnce;
  }
  return Idempotency::kIdempotent;
}

bool MayRetry(absl::StatusCode code, Idempotency idempotency) {
  return code == absl::StatusCode::kUnavailable && idempotency == Idempotency::kIdempotent;
}

const RetryOptions& LeasePollBackoff() {
  static const RetryOptions* const kBackoff = [] {
    auto* backoff = new RetryOptions();
    backoff->initial_backoff = absl::Milliseconds(5);
    backoff->max_backoff = absl::Milliseconds(100);
    backoff->backoff_multiplier = 2.0;
    backoff->jitter = 0.2;
    return backoff;
  }();
  return *kBackoff;
}

const RetryOptions& WatchedLeasePollBackoff() {
  static const RetryOptions* const kBackoff = [] {
    auto* backoff = new RetryOptions();
    backoff->initial_backoff = absl::Milliseconds(100);
    backoff->max_backoff = absl::Milliseconds(500);
    backoff->backoff_multiplier = 2.0;
    backoff->jitter = 0.2;
    return backoff;
  }();
  return *kBackoff;
}

absl::Duration BackoffDelay(const RetryOptions& options, int retry, double uniform) {
  const double growth = std::pow(options.backoff_multiplier, std::max(0, retry - 1));
  absl::Duration pause = options.initial_backoff * growth;
  if (pause > options.max_backoff) pause = options.max_backoff;
  const double jitter = std::clamp(options.jitter, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * std::clamp(uniform, 0.0, 1.0) - 1.0);
  return std::max(absl::ZeroDuration(), pause * factor);
}

RetryBudget::RetryBudget(double ratio, int min_per_second, const Clock& clock)
    : deposit_(std::llround(std::max(0.0, ratio) * kTokenUnits)),
      min_per_second_(std::max(0, min_per_second)),
      clock_(clock) {}

void RetryBudget::RecordCall() {
  absl::MutexLock lock(&mutex_);
  balance_ = std::min(balance_ + deposit_, deposit_ * kBalanceCalls);
}

bool RetryBudget::TryRetry() {
  absl::MutexLock lock(&mutex_);
  if (balance_ >= kTokenUnits) {
    balance_ -= kTokenUnits;
    return true;
  }
  const int64_t second = absl::ToUnixSeconds(clock_.Now());
  if (second != floor_second_) {
    floor_second_ = second;
    floor_used_ = 0;
  }
  if (floor_used_ < min_per_second_) {
    ++floor_used_;
    return true;
  }
  return false;
}

}  // namespace larder::client::internal

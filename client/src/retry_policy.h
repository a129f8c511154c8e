// Retry policy pieces of the client: which failures may be retried, the jittered exponential
// backoff between attempts and the client-wide retry budget that keeps retries a bounded
// fraction of calls.
//
//   if (!MayRetry(status.code(), IdempotencyOf(set_options))) return status;
//   absl::Duration pause = BackoffDelay(options.retry, /*retry=*/1, absl::Uniform(gen, 0.0, 1.0));
//   budget.RecordCall();
//   if (budget.TryRetry()) { /* schedule another attempt after `pause` */ }
#pragma once

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/client.h"
#include "larder/client_options.h"
#include "larder/common/clock.h"

namespace larder::client::internal {

// Whether a call may be sent again after an attempt that the server may have applied before the
// failure reached the client.
enum class Idempotency {
  // Repeating it leaves the same state as running it once: reads, unconditional writes,
  // Delete, Touch, Invalidate.
  kIdempotent,
  // A conditional write (if_absent, if_match, lease_token): a repeat of an applied attempt
  // would report "not stored" for a value that was stored, so it is attempted at most once.
  // So is a Lease: a repeat of a granted attempt would tell the lease's holder to wait.
  kAtMostOnce,
};

// kAtMostOnce when `options` has if_absent, if_match or lease_token, else kIdempotent.
Idempotency IdempotencyOf(const SetOptions& options);
// kAtMostOnce when any entry is conditional, else kIdempotent.
Idempotency IdempotencyOf(const std::vector<SetEntry>& entries);

// Whether a failed attempt may be retried: only kUnavailable (the server could not be reached
// or is shutting down), and only for kIdempotent calls. Never kDeadlineExceeded (the deadline
// covers all attempts), nor kInvalidArgument, kResourceExhausted, kDataLoss, kInternal, a
// denial (IsDenial) or any other code, which a repeat would only meet again. Pure.
bool MayRetry(absl::StatusCode code, Idempotency idempotency);

// Whether larderd refused the caller: kUnauthenticated (no or unknown token) or
// kPermissionDenied (a known principal without the permission). Never retried; counted in
// larder_client_denied_total. Pure.
inline bool IsDenial(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kPermissionDenied;
}

// The pause before retry number `retry` (1 for the first): initial_backoff *
// multiplier^(retry - 1), capped at max_backoff, then scaled by 1 + jitter * (2u - 1) for the
// uniform sample `uniform` in [0, 1). Pure.
absl::Duration BackoffDelay(const RetryOptions& options, int retry, double uniform);

// The pauses between polls of another caller's lease (larder::Cached and the HTTP layer): 5 ms
// doubling to 100 ms, +-20%.
const RetryOptions& LeasePollBackoff();
// The same while a Watch stream of the key's namespace is live and wakes the waiter on every
// change of its key (LeaseWait, key_waiters.h). The polls are then a fallback for what sends no
// event (a lease that expired, or was released by a Delete of the absent key), bounded so that
// such a lease is still noticed within 0.6 s: 100 ms doubling to 500 ms, +-20%.
const RetryOptions& WatchedLeasePollBackoff();

// A token bucket shared by all calls of a client. Every call deposits `ratio` tokens (up to
// the deposits of kBalanceCalls calls); a retry spends one token, or else one of the
// `min_per_second` retries every second of the clock allows regardless. Thread-safe.
class RetryBudget {
 public:
  static constexpr int kBalanceCalls = 1000;

  RetryBudget(double ratio, int min_per_second, const Clock& clock);

  // Counts a call (its first attempt).
  void RecordCall();
  // True, spending budget, when one more retry is allowed now.
  bool TryRetry();

 private:
  // Tokens are counted in thousandths so that ten deposits of 0.1 make exactly one.
  static constexpr int64_t kTokenUnits = 1000;

  const int64_t deposit_;
  const int min_per_second_;
  const Clock& clock_;
  absl::Mutex mutex_;
  int64_t balance_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t floor_second_ ABSL_GUARDED_BY(mutex_) = 0;
  int floor_used_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::client::internal

// LogRateLimiter: at most one log line per cause per period (larderd's log, server/log/, and the
// SDK's diagnostics, client/src/rate_limited_log.h), so an error that repeats (an
// engine that keeps failing, a tokens file that keeps being rejected) is in the log once per
// period with a count of the lines left out, never once per occurrence.
//
//   LogRateLimiter limiter(Clock::Real(), absl::Seconds(30));
//   if (auto suppressed = limiter.Allow(cause)) {
//     Log(Severity::kWarning, "engine_check_failed", {{"cause", cause}, {"suppressed",
//     *suppressed}});
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/common/clock.h"

namespace larder {

class LogRateLimiter {
 public:
  // Causes remembered at once; past it the oldest half is forgotten (they may log again early).
  static constexpr size_t kMaxCauses = 1024;

  // `clock` must outlive the limiter. A period of zero allows every line.
  LogRateLimiter(const Clock& clock, absl::Duration period) : clock_(clock), period_(period) {}

  // The number of lines of `cause` suppressed since the last one allowed, when a line may be
  // written now; nullopt when it must be suppressed (and is counted). Thread-safe; O(1) but
  // every kMaxCauses new causes, O(kMaxCauses).
  std::optional<int64_t> Allow(absl::string_view cause);

 private:
  struct CauseState {
    absl::Time last_allowed;
    int64_t suppressed = 0;
  };
  void ForgetOldest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Clock& clock_;
  const absl::Duration period_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, CauseState> causes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder

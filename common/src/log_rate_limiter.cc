#include "larder/common/log_rate_limiter.h"

#include <algorithm>
#include <vector>

namespace larder {

std::optional<int64_t> LogRateLimiter::Allow(absl::string_view cause) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mutex_);
  auto it = causes_.find(cause);
  if (it == causes_.end()) {
    if (causes_.size() >= kMaxCauses) ForgetOldest();
    causes_.emplace(std::string(cause), CauseState{now, 0});
    return 0;
  }
  CauseState& state = it->second;
  if (now - state.last_allowed < period_) {
    ++state.suppressed;
    return std::nullopt;
  }
  const int64_t suppressed = state.suppressed;
  state = CauseState{now, 0};
  return suppressed;
}

void LogRateLimiter::ForgetOldest() {
  std::vector<absl::Time> times;
  times.reserve(causes_.size());
  for (const auto& [cause, state] : causes_) times.push_back(state.last_allowed);
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  const absl::Time median = times[times.size() / 2];
  absl::erase_if(causes_, [&](const auto& entry) { return entry.second.last_allowed <= median; });
}

}  // namespace larder

#include "client/src/rate_limited_log.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"

namespace larder::client::internal {

void WriteToStderr(absl::string_view line) {
  std::string with_newline = absl::StrCat(line, "\n");
  std::fwrite(with_newline.data(), 1, with_newline.size(), stderr);
  std::fflush(stderr);
}

RateLimitedLog::RateLimitedLog(const Clock& clock, absl::Duration interval, Sink sink)
    : clock_(clock), interval_(interval), sink_(sink ? std::move(sink) : Sink(WriteToStderr)) {}

bool RateLimitedLog::Log(absl::string_view cause, absl::string_view message) {
  const absl::Time now = clock_.Now();
  int64_t suppressed = 0;
  {
    absl::MutexLock lock(&mutex_);
    CauseState& state = causes_[cause];
    if (now - state.last_written < interval_) {
      ++state.suppressed;
      return false;
    }
    state.last_written = now;
    suppressed = std::exchange(state.suppressed, 0);
  }
  std::string line = absl::StrCat("larder: ", message);
  if (suppressed > 0) absl::StrAppend(&line, " (", suppressed, " more suppressed)");
  sink_(line);
  return true;
}

}  // namespace larder::client::internal

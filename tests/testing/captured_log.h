// CapturedLog: collects the SDK's log lines (larder::SetLogSink, larder/log.h) while it lives,
// then restores standard error. One at a time per process.
//
//   CapturedLog log;
//   ... a call that fails open ...
//   EXPECT_THAT(log.lines(), Contains(HasSubstr("is not caching")));
#pragma once

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "larder/log.h"

namespace larder::testing {

class CapturedLog {
 public:
  CapturedLog() {
    SetLogSink([this](absl::string_view line) {
      absl::MutexLock lock(&mutex_);
      lines_.emplace_back(line);
    });
  }
  ~CapturedLog() { SetLogSink(nullptr); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<std::string> lines() const {
    absl::MutexLock lock(&mutex_);
    return lines_;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

// FakeClock: a Clock that only moves when a test moves it.
//
//   larder::testing::FakeClock clock;          // starts at a fixed instant
//   clock.Advance(absl::Minutes(5));
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/common/clock.h"

namespace larder::testing {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z unless told otherwise.
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mutex_);
    now_ += by;
  }
  void Set(absl::Time to) {
    absl::MutexLock lock(&mutex_);
    now_ = to;
  }

 private:
  mutable absl::Mutex mutex_;
  absl::Time now_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

// FakeWaitClock: a WaitClock (CachedOptions::wait_clock) whose SleepFor advances its own time
// instead of sleeping and records each pause, so tests of lease waits never sleep. An optional
// hook runs on every pause, e.g. to let another "process" act while a waiter waits.
//
//   FakeWaitClock clock;
//   clock.set_on_sleep([&](int pauses) { if (pauses == 1) waiter_is_polling.Notify(); });
//   options.wait_clock = &clock;
//   … EXPECT_THAT(clock.pauses(), ElementsAre(…));
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/wait_clock.h"

namespace larder::testing {

// Thread-safe. The hook runs outside the lock, on the sleeping thread.
class FakeWaitClock final : public WaitClock {
 public:
  // 2026-01-01T00:00:00Z unless told otherwise.
  explicit FakeWaitClock(absl::Time start = absl::FromUnixSeconds(1767225600)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void SleepFor(absl::Duration duration) const override {
    std::function<void(int)> hook;
    int count = 0;
    {
      absl::MutexLock lock(&mutex_);
      now_ += duration;
      pauses_.push_back(duration);
      count = static_cast<int>(pauses_.size());
      hook = on_sleep_;
    }
    if (hook) hook(count);
  }

  // Runs `hook(n)` on the n-th pause (1 for the first), after time has advanced.
  void set_on_sleep(std::function<void(int)> hook) {
    absl::MutexLock lock(&mutex_);
    on_sleep_ = std::move(hook);
  }
  // Every pause asked for, in order.
  std::vector<absl::Duration> pauses() const {
    absl::MutexLock lock(&mutex_);
    return pauses_;
  }
  absl::Duration slept() const {
    absl::MutexLock lock(&mutex_);
    absl::Duration total;
    for (absl::Duration pause : pauses_) total += pause;
    return total;
  }

 private:
  mutable absl::Mutex mutex_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mutex_);
  mutable std::vector<absl::Duration> pauses_ ABSL_GUARDED_BY(mutex_);
  std::function<void(int)> on_sleep_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

// FakeWaitClock: a WaitClock (CachedOptions::wait_clock) whose SleepFor advances its own time
// instead of sleeping and records each pause, so tests of lease waits never sleep. An optional
// hook runs on every pause, e.g. to let another "process" act while a waiter waits.
// WaitFor(signal, d) first runs the wait hook, which may raise the signal (or wait for a Watch
// event to raise it); then, raised, it returns true without advancing time (counted in woken());
// else it is a pause of d like SleepFor.
//
//   FakeWaitClock clock;
//   clock.set_on_sleep([&](int pauses) { if (pauses == 1) waiter_is_polling.Notify(); });
//   clock.set_on_wait([&](int waits, const WaitSignal& signal) { if (waits == 2) Deliver(); });
//   options.wait_clock = &clock;
//   … EXPECT_THAT(clock.pauses(), ElementsAre(…)); EXPECT_EQ(clock.woken(), 1);
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

  bool WaitFor(const WaitSignal& signal, absl::Duration duration) const override {
    std::function<void(int, const WaitSignal&)> hook;
    int count = 0;
    {
      absl::MutexLock lock(&mutex_);
      count = ++waits_;
      hook = on_wait_;
    }
    if (hook) hook(count, signal);
    if (!signal.raised()) {
      SleepFor(duration);
      return false;
    }
    absl::MutexLock lock(&mutex_);
    ++woken_;
    return true;
  }

  // Runs `hook(n)` on the n-th pause (1 for the first), after time has advanced.
  void set_on_sleep(std::function<void(int)> hook) {
    absl::MutexLock lock(&mutex_);
    on_sleep_ = std::move(hook);
  }
  // Runs `hook(n, signal)` on the n-th WaitFor (1 for the first), before it looks at the signal.
  void set_on_wait(std::function<void(int, const WaitSignal&)> hook) {
    absl::MutexLock lock(&mutex_);
    on_wait_ = std::move(hook);
  }
  // WaitFor calls, and those that found their signal raised (no time passed).
  int waits() const {
    absl::MutexLock lock(&mutex_);
    return waits_;
  }
  int woken() const {
    absl::MutexLock lock(&mutex_);
    return woken_;
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
  mutable int waits_ ABSL_GUARDED_BY(mutex_) = 0;
  mutable int woken_ ABSL_GUARDED_BY(mutex_) = 0;
  std::function<void(int)> on_sleep_ ABSL_GUARDED_BY(mutex_);
  std::function<void(int, const WaitSignal&)> on_wait_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

// PatientWaitClock: a WaitClock on real time whose waits for a signal (WaitFor) ignore their
// pause and last until the signal is raised, or a long patience: a waiter on it is only ever
// woken by a Watch event, so a test that ends at all shows the event woke it, without timing
// anything. A hook runs as each wait begins (the waiter is registered by then). SleepFor (a
// waiter without a live stream) sleeps for real and is counted.
//
//   PatientWaitClock clock;
//   clock.set_on_wait([&](int waits) { if (waits == 1) waiter_waits.Notify(); });
//   options.wait_clock = &clock;
//   … EXPECT_EQ(clock.woken(), 1); EXPECT_EQ(clock.sleeps(), 0);
#pragma once

#include <functional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "larder/wait_clock.h"

namespace larder::testing {

// Thread-safe. The hook runs outside the lock, on the waiting thread.
class PatientWaitClock final : public WaitClock {
 public:
  // How long a wait lasts at most, whatever pause it was asked for.
  static constexpr absl::Duration kPatience = absl::Seconds(60);

  absl::Time Now() const override { return absl::Now(); }
  void SleepFor(absl::Duration duration) const override {
    {
      absl::MutexLock lock(&mutex_);
      ++sleeps_;
    }
    if (duration > absl::ZeroDuration()) absl::SleepFor(duration);
  }
  bool WaitFor(const WaitSignal& signal, absl::Duration /*duration*/) const override {
    std::function<void(int)> hook;
    int count = 0;
    {
      absl::MutexLock lock(&mutex_);
      count = ++waits_;
      hook = on_wait_;
    }
    if (hook) hook(count);
    const bool raised = signal.WaitWithTimeout(kPatience);
    absl::MutexLock lock(&mutex_);
    if (raised) ++woken_;
    return raised;
  }

  // Runs `hook(n)` as the n-th WaitFor begins (1 for the first).
  void set_on_wait(std::function<void(int)> hook) {
    absl::MutexLock lock(&mutex_);
    on_wait_ = std::move(hook);
  }
  int waits() const {
    absl::MutexLock lock(&mutex_);
    return waits_;
  }
  int woken() const {
    absl::MutexLock lock(&mutex_);
    return woken_;
  }
  int sleeps() const {
    absl::MutexLock lock(&mutex_);
    return sleeps_;
  }

 private:
  mutable absl::Mutex mutex_;
  mutable int waits_ ABSL_GUARDED_BY(mutex_) = 0;
  mutable int woken_ ABSL_GUARDED_BY(mutex_) = 0;
  mutable int sleeps_ ABSL_GUARDED_BY(mutex_) = 0;
  std::function<void(int)> on_wait_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

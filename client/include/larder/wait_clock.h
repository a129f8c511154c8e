// WaitClock: the clock a cached function waits on while another process computes the value it
// needs (fleet-wide single flight, CachedOptions::fleet_single_flight): it tells the time,
// sleeps, and waits for a WaitSignal (raised when the near cache's Watch stream reports a change
// of the awaited key) with a timeout. Real time unless a test injects one that advances a
// FakeClock instead of sleeping.
//
//   larder::CachedOptions options;
//   options.wait_clock = &fake_wait_clock;   // tests only; null means WaitClock::Real()
//
//   WaitSignal signal;                        // raised by another thread: signal.Raise()
//   if (clock.WaitFor(signal, absl::Milliseconds(250))) signal.Take();   // woken early
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/common/clock.h"

namespace larder {

// A wake-up flag for one waiting thread: any thread raises it, any number of times; it stays
// raised until the waiter takes it. Thread-safe.
class WaitSignal {
 public:
  WaitSignal() = default;
  WaitSignal(const WaitSignal&) = delete;
  WaitSignal& operator=(const WaitSignal&) = delete;

  // Raises the flag and wakes a thread blocked in WaitWithTimeout.
  void Raise();
  // Whether the flag is raised.
  bool raised() const;
  // Whether the flag was raised; lowers it.
  bool Take();
  // Blocks the calling thread until the flag is raised or `timeout` of real time has passed;
  // returns raised() (the flag stays raised). Returns at once when it is raised already.
  bool WaitWithTimeout(absl::Duration timeout) const;

 private:
  mutable absl::Mutex mutex_;
  bool raised_ ABSL_GUARDED_BY(mutex_) = false;
};

// Implementations must be thread-safe.
class WaitClock : public Clock {
 public:
  // Blocks the calling thread for `duration`; returns at once when it is not positive.
  virtual void SleepFor(absl::Duration duration) const = 0;

  // Blocks the calling thread until `signal` is raised or `duration` has passed, whichever comes
  // first, and returns whether it was raised (leaving it raised). Real(): WaitWithTimeout. The
  // default, for clocks that do not override it: true at once when raised already, else
  // SleepFor(duration) and then signal.raised(), so such a clock is never woken early.
  virtual bool WaitFor(const WaitSignal& signal, absl::Duration duration) const;

  // absl::Now(), absl::SleepFor() and WaitSignal::WaitWithTimeout(). Never destroyed.
  static const WaitClock& Real();
};

}  // namespace larder

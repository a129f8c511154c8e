// WaitClock: the clock a cached function waits on while another process computes the value it
// needs (fleet-wide single flight, CachedOptions::fleet_single_flight): it tells the time and
// sleeps. Real time unless a test injects one that advances a FakeClock instead of sleeping.
//
//   larder::CachedOptions options;
//   options.wait_clock = &fake_wait_clock;   // tests only; null means WaitClock::Real()
#pragma once

#include "absl/time/time.h"
#include "larder/common/clock.h"

namespace larder {

// Implementations must be thread-safe.
class WaitClock : public Clock {
 public:
  // Blocks the calling thread for `duration`; returns at once when it is not positive.
  virtual void SleepFor(absl::Duration duration) const = 0;

  // absl::Now() and absl::SleepFor(). Never destroyed.
  static const WaitClock& Real();
};

}  // namespace larder

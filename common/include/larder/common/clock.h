// Clock: the one source of time for larder code, injected so tests never sleep.
//
//   const larder::Clock& clock = larder::Clock::Real();
//   absl::Time now = clock.Now();
//
// Tests use larder::testing::FakeClock (tests/testing/fake_clock.h) and advance it by hand.
#pragma once

#include "absl/time/time.h"

namespace larder {

// Thread-safe. Implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide wall clock. Never destroyed.
  static const Clock& Real();
};

}  // namespace larder

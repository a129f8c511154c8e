#include "larder/wait_clock.h"

#include "absl/time/clock.h"

namespace larder {
namespace {

class RealWaitClock final : public WaitClock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void SleepFor(absl::Duration duration) const override {
    if (duration > absl::ZeroDuration()) absl::SleepFor(duration);
  }
};

}  // namespace

const WaitClock& WaitClock::Real() {
  static const RealWaitClock* const kReal = new RealWaitClock();
  return *kReal;
}

}  // namespace larder

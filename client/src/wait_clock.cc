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
  bool WaitFor(const WaitSignal& signal, absl::Duration duration) const override {
    return signal.WaitWithTimeout(duration);
  }
};

}  // namespace

void WaitSignal::Raise() {
  absl::MutexLock lock(&mutex_);
  raised_ = true;
}

bool WaitSignal::raised() const {
  absl::MutexLock lock(&mutex_);
  return raised_;
}

bool WaitSignal::Take() {
  absl::MutexLock lock(&mutex_);
  const bool was = raised_;
  raised_ = false;
  return was;
}

bool WaitSignal::WaitWithTimeout(absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  if (timeout > absl::ZeroDuration()) mutex_.AwaitWithTimeout(absl::Condition(&raised_), timeout);
  return raised_;
}

bool WaitClock::WaitFor(const WaitSignal& signal, absl::Duration duration) const {
  if (signal.raised()) return true;
  SleepFor(duration);
  return signal.raised();
}

const WaitClock& WaitClock::Real() {
  static const RealWaitClock* const kReal = new RealWaitClock();
  return *kReal;
}

}  // namespace larder

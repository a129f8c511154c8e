#include "client/src/key_waiters.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "client/src/retry_policy.h"

namespace larder::client::internal {

KeyWaiters::Waiter::Waiter(KeyWaiters& owner, absl::string_view ns, absl::string_view key,
                           size_t stripe)
    : owner_(owner), ns_(ns), key_(key), stripe_(stripe) {}

KeyWaiters::Waiter::~Waiter() { owner_.Unregister(*this); }

KeyWaiters& KeyWaiters::Process() {
  static KeyWaiters* const kProcess = new KeyWaiters();
  return *kProcess;
}

size_t KeyWaiters::StripeOf(absl::string_view ns, absl::string_view key) {
  return absl::HashOf(ns, key) % kStripes;
}

std::unique_ptr<KeyWaiters::Waiter> KeyWaiters::Register(absl::string_view ns,
                                                         absl::string_view key) {
  const size_t stripe = StripeOf(ns, key);
  std::unique_ptr<Waiter> waiter(new Waiter(*this, ns, key, stripe));
  // Counted first, so that a Notify that misses the count cannot have come after the insert.
  waiting_.fetch_add(1);
  absl::MutexLock lock(&stripes_[stripe].mutex);
  stripes_[stripe].waiters.push_back(waiter.get());
  return waiter;
}

void KeyWaiters::Unregister(const Waiter& waiter) {
  {
    Stripe& stripe = stripes_[waiter.stripe_];
    absl::MutexLock lock(&stripe.mutex);
    auto found = std::find(stripe.waiters.begin(), stripe.waiters.end(), &waiter);
    if (found == stripe.waiters.end()) return;
    *found = stripe.waiters.back();
    stripe.waiters.pop_back();
  }
  waiting_.fetch_sub(1);
}

void KeyWaiters::Notify(absl::string_view ns, absl::string_view key) {
  if (waiting_.load() == 0) return;
  Stripe& stripe = stripes_[StripeOf(ns, key)];
  absl::MutexLock lock(&stripe.mutex);
  for (Waiter* waiter : stripe.waiters) {
    if (waiter->key_ == key && waiter->ns_ == ns) waiter->signal_.Raise();
  }
}

void KeyWaiters::NotifyNamespace(absl::string_view ns) {
  if (waiting_.load() == 0) return;
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mutex);
    for (Waiter* waiter : stripe.waiters) {
      if (waiter->ns_ == ns) waiter->signal_.Raise();
    }
  }
}

void KeyWaiters::StreamLive(absl::string_view ns) {
  absl::MutexLock lock(&live_mutex_);
  ++live_[ns];
}

void KeyWaiters::StreamEnded(absl::string_view ns) {
  {
    absl::MutexLock lock(&live_mutex_);
    auto found = live_.find(ns);
    if (found != live_.end() && --found->second <= 0) live_.erase(found);
  }
  // After the count: a waiter woken here that pauses again sees the namespace unwatched.
  NotifyNamespace(ns);
}

bool KeyWaiters::Watched(absl::string_view ns) const {
  absl::ReaderMutexLock lock(&live_mutex_);
  return live_.contains(ns);
}

LeaseWait::LeaseWait(KeyWaiters& waiters, absl::string_view ns, absl::string_view key,
                     bool watchable, const WaitClock& clock)
    : waiters_(waiters), ns_(ns), key_(key), watchable_(watchable), clock_(clock) {}

bool LeaseWait::Pause(int poll, absl::Duration left) {
  thread_local absl::InsecureBitGen random;
  const double uniform = absl::Uniform(random, 0.0, 1.0);
  if (!watchable_ || !waiters_.Watched(ns_)) {
    clock_.SleepFor(std::min(left, BackoffDelay(LeasePollBackoff(), poll, uniform)));
    return false;
  }
  absl::Duration pause;
  if (waiter_ == nullptr) {
    // Short: covers a change whose event arrived before this registration (see the top).
    waiter_ = waiters_.Register(ns_, key_);
    pause = BackoffDelay(LeasePollBackoff(), poll, uniform);
  } else {
    pause = BackoffDelay(WatchedLeasePollBackoff(), ++watched_pauses_, uniform);
  }
  if (!clock_.WaitFor(waiter_->signal(), std::min(left, pause))) return false;
  waiter_->Take();  // Before the poll: a change after it raises the signal again.
  return true;
}

}  // namespace larder::client::internal

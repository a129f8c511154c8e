#include "client/src/timer_queue.h"

#include <vector>

#include "absl/time/clock.h"

namespace larder::client::internal {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void TimerQueue::RunAt(absl::Time when, std::function<void()> callback) {
  absl::MutexLock lock(&mutex_);
  auto it = pending_.emplace(std::make_pair(when, next_sequence_++), std::move(callback)).first;
  if (it == pending_.begin()) earliest_changed_ = true;
}

bool TimerQueue::ShouldWake() const { return stopping_ || earliest_changed_; }

void TimerQueue::Loop() {
  absl::MutexLock lock(&mutex_);
  while (true) {
    const absl::Time next =
        pending_.empty() ? absl::InfiniteFuture() : pending_.begin()->first.first;
    // Wakes at the earliest time, when an earlier timer is added, or when stopping.
    mutex_.AwaitWithDeadline(absl::Condition(this, &TimerQueue::ShouldWake), next);
    earliest_changed_ = false;
    if (stopping_ && pending_.empty()) return;
    std::vector<std::function<void()>> due;
    while (!pending_.empty() && (stopping_ || pending_.begin()->first.first <= absl::Now())) {
      due.push_back(std::move(pending_.begin()->second));
      pending_.erase(pending_.begin());
    }
    mutex_.Unlock();
    for (std::function<void()>& callback : due) callback();
    mutex_.Lock();
  }
}

}  // namespace larder::client::internal

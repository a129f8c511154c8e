// TimerQueue: runs short callbacks at given real times on one thread, so a client can pause
// between retry attempts without holding a thread per call.
//
//   TimerQueue timers;
//   timers.RunAt(absl::Now() + absl::Milliseconds(5), [] { StartNextAttempt(); });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace larder::client::internal {

// Thread-safe. Callbacks run one at a time on the queue's thread and must not block.
class TimerQueue {
 public:
  TimerQueue();
  // Runs every callback still pending at once (callers bound their waits by deadlines, so
  // none is far off), then stops the thread.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` at `when` (real time), or soon when that has passed.
  void RunAt(absl::Time when, std::function<void()> callback);

 private:
  void Loop();
  bool ShouldWake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  // Ordered by time, then by insertion so equal times keep their order.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> pending_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  bool earliest_changed_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace larder::client::internal

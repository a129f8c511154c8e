// WorkerPool: the threads of larder-proxy's front end (front_end.h) that may block: each runs
// one queued task at a time, oldest first. The queue is bounded, so a flood of slow requests
// is refused at once (Submit returns false) instead of growing memory. Internal to proxy/.
//
//   WorkerPool pool(64, 4096);
//   if (!pool.Submit([] { ... })) Refuse503();
//   pool.Stop(absl::Seconds(10));
#pragma once

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace larder::proxy::internal {

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  // Starts `threads` threads; at most `max_queued` tasks wait at once.
  WorkerPool(int threads, int max_queued);
  // Stop(infinite) unless stopped; never call while tasks may still be submitted.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` dropped unrun) when the queue is full or the pool stopping.
  bool Submit(Task task) ABSL_LOCKS_EXCLUDED(mutex_);

  // Refuses new tasks, waits up to `grace` for the queued and running ones, then ends the
  // threads. False when tasks were still queued or running after `grace`: the threads are then
  // detached and the pool must be leaked, not destroyed.
  bool Stop(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mutex_);

  // Tasks waiting for a thread, as of a moment ago (no lock).
  size_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mutex_);

  const size_t max_queued_;
  std::atomic<size_t> queued_{0};
  absl::Mutex mutex_;
  absl::CondVar ready_;  // A task was queued, or quit_ set.
  absl::CondVar idle_;   // While stopping: nothing queued or running any more.
  std::deque<Task> queue_ ABSL_GUARDED_BY(mutex_);
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool quit_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace larder::proxy::internal

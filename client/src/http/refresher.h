// Refresher: runs stale-while-revalidate refreshes on a few background threads, at most one
// per key at a time.
//
//   Refresher refresher(/*threads=*/2, /*max_pending=*/256);
//   auto scheduled = refresher.Schedule("items\n" + key, [=] { …render and store… });
//   refresher.WaitIdle();   // tests and shutdown
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace larder::http::internal {

// Thread-safe. The destructor drops pending work and joins the threads.
class Refresher {
 public:
  Refresher(int threads, size_t max_pending);
  ~Refresher();
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  enum class Scheduled { kQueued, kAlreadyPending, kQueueFull };
  // Queues `work` unless a refresh of `key` is queued or running, or the queue is full.
  Scheduled Schedule(const std::string& key, std::function<void()> work);
  // Blocks until nothing is queued or running.
  void WaitIdle();

 private:
  struct Job {
    std::string key;
    std::function<void()> work;
  };
  void Loop();

  const size_t max_pending_;
  absl::Mutex mutex_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> keys_ ABSL_GUARDED_BY(mutex_);  // Queued or running.
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace larder::http::internal

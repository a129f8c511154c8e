// BoundedExecutor: a fixed pool of threads with a bounded queue, where larderd runs storage
// calls that may block (RocksDB, Redis) so gRPC's callback threads never wait on I/O.
//
//   BoundedExecutor executor(/*threads=*/4, /*max_queued=*/4096);
//   if (!executor.TrySubmit([] { ... })) { /* overloaded: answer UNAVAILABLE */ }
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace larder::server {

// Thread-safe. The destructor runs every task already queued, then joins the threads.
class BoundedExecutor {
 public:
  BoundedExecutor(int threads, size_t max_queued);
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`; false (and `task` dropped) when max_queued tasks are already waiting.
  bool TrySubmit(std::function<void()> task);

 private:
  void WorkLoop();

  const size_t max_queued_;
  absl::Mutex mutex_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace larder::server

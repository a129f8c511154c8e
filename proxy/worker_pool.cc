#include "proxy/worker_pool.h"

#include <utility>

namespace larder::proxy::internal {

WorkerPool::WorkerPool(int threads, int max_queued) : max_queued_(static_cast<size_t>(max_queued)) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Stop(absl::InfiniteDuration()); }

bool WorkerPool::Submit(Task task) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(task));
  queued_.store(queue_.size(), std::memory_order_relaxed);
  ready_.Signal();  // One worker: a condition on the mutex would wake every idle one.
  return true;
}

void WorkerPool::Run() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mutex_);
      while (!quit_ && queue_.empty()) ready_.Wait(&mutex_);
      if (queue_.empty()) return;  // quit_
      task = std::move(queue_.front());
      queue_.pop_front();
      queued_.store(queue_.size(), std::memory_order_relaxed);
      ++running_;
    }
    std::move(task)();
    absl::MutexLock lock(&mutex_);
    --running_;
    if (stopping_ && running_ == 0 && queue_.empty()) idle_.SignalAll();
  }
}

bool WorkerPool::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&mutex_);
    if (threads_.empty()) return true;
    stopping_ = true;
    const absl::Time deadline = absl::Now() + grace;
    while (!(queue_.empty() && running_ == 0) && !idle_.WaitWithDeadline(&mutex_, deadline)) {
    }
    const bool idle = queue_.empty() && running_ == 0;
    quit_ = true;
    ready_.SignalAll();
    if (!idle) {
      for (std::thread& thread : threads_) thread.detach();
      threads_.clear();
      return false;
    }
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  return true;
}

}  // namespace larder::proxy::internal

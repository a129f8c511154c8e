#include "client/src/http/refresher.h"

#include <utility>

namespace larder::http::internal {

Refresher::Refresher(int threads, size_t max_pending) : max_pending_(max_pending) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Refresher::~Refresher() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    queue_.clear();
  }
  for (std::thread& thread : threads_) thread.join();
}

Refresher::Scheduled Refresher::Schedule(const std::string& key, std::function<void()> work) {
  absl::MutexLock lock(&mutex_);
  if (keys_.contains(key)) return Scheduled::kAlreadyPending;
  if (stopping_ || threads_.empty() || queue_.size() >= max_pending_) {
    return Scheduled::kQueueFull;
  }
  keys_.insert(key);
  queue_.push_back(Job{key, std::move(work)});
  return Scheduled::kQueued;
}

void Refresher::WaitIdle() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](absl::flat_hash_set<std::string>* keys) { return keys->empty(); }, &keys_));
}

void Refresher::Loop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !queue_.empty();
      };
      mutex_.Await(absl::Condition(&ready));
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.work();
    absl::MutexLock lock(&mutex_);
    keys_.erase(job.key);
  }
}

}  // namespace larder::http::internal

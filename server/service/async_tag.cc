#include "server/service/async_tag.h"

#include "server/log/log.h"
#include "server/storage/deferred_work.h"

namespace larder::server {
namespace {

// Events served after one before the engine work they deferred runs, at most.
constexpr int kMaxBurst = 64;

// After an event whose call deferred engine work (storage::DeferredWork), serves the events that
// are ready at once, up to kMaxBurst, then runs the work deferred, until none is left.
void FinishBurst(grpc::CompletionQueue& queue) {
  int served = 0;
  while (storage::DeferredWork::Pending()) {
    void* tag = nullptr;
    bool ok = false;
    if (served < kMaxBurst && queue.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) ==
                                  grpc::CompletionQueue::GOT_EVENT) {
      ++served;
      static_cast<AsyncTag*>(tag)->Proceed(ok);
      continue;
    }
    storage::DeferredWork::RunPending();
    served = 0;
  }
}

// Hands every event of `queue` to its tag until the queue is shut down and drained.
void Poll(grpc::CompletionQueue& queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
    static_cast<AsyncTag*>(tag)->Proceed(ok);
    FinishBurst(queue);
  }
}

}  // namespace

thread_local const TaskQueue* TaskQueue::current_ = nullptr;

void TaskQueue::Run(QueuedTask& task) {
  if (current_ == this) return task.RunOnQueue();
  absl::MutexLock lock(&mutex_);
  posted_.push_back(&task);
  if (wake_pending_) return;
  wake_pending_ = true;
  alarm_.Set(&queue_, gpr_inf_future(GPR_CLOCK_MONOTONIC), static_cast<AsyncTag*>(this));
  alarm_.Cancel();  // Posts the tag now.
}

void TaskQueue::Proceed(bool) {
  std::vector<QueuedTask*> posted;
  {
    absl::MutexLock lock(&mutex_);
    posted.swap(posted_);
    wake_pending_ = false;
  }
  for (QueuedTask* task : posted) task->RunOnQueue();
}

void CallCount::Change(int delta) {
  absl::MutexLock lock(&mutex_);
  alive_ += delta;
}

int64_t CallCount::Alive() {
  absl::MutexLock lock(&mutex_);
  return alive_;
}

bool CallCount::AwaitNone(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return alive_ == 0; };
  return mutex_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

void QueueThreads::AddTo(grpc::ServerBuilder& builder, int count) {
  for (int i = 0; i < count; ++i) {
    queues_.push_back(std::make_unique<ServedQueue>(builder.AddCompletionQueue()));
  }
}

void QueueThreads::Start() {
  for (const std::unique_ptr<ServedQueue>& queue : queues_) {
    threads_.emplace_back([queue = queue.get()] {
      queue->tasks.BecomeCurrent();
      storage::DeferredWork::EnableOnThisThread();
      Poll(*queue->completion);
    });
  }
}

void QueueThreads::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Calls end only while their queues are polled; unpolled queues have none that started.
  if (!threads_.empty()) {
    for (const std::unique_ptr<ServedQueue>& queue : queues_) {
      while (!queue->calls.AwaitNone(slow_calls_log_period_)) {
        Log(Severity::kError, "shutdown",
            {{"phase", "calls_not_ended"},
             {"calls", queue->calls.Alive()},
             {"detail", "waiting for calls queued for the engine before closing gRPC's queues"}});
      }
    }
  }
  for (const std::unique_ptr<ServedQueue>& queue : queues_) queue->completion->Shutdown();
  for (std::thread& thread : threads_) thread.join();
  // A queue that was never polled still holds its events: drain it so its tags are freed.
  if (threads_.empty()) {
    for (const std::unique_ptr<ServedQueue>& queue : queues_) Poll(*queue->completion);
  }
}

}  // namespace larder::server

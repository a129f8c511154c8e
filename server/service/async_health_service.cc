#include "server/service/async_health_service.h"

#include <atomic>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/service/async_tag.h"

namespace larder::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Check: requested, answered from the table, finished, deleted.
class AsyncHealthService::CheckCall final : public AsyncTag {
 public:
  CheckCall(AsyncHealthService& health, ServedQueue& queue)
      : counted_(queue.calls), health_(health), queue_(queue) {
    health_.service_.RequestCheck(&context_, &request_, &writer_, queue_.completion.get(),
                                  queue_.completion.get(), this);
  }

  void Proceed(bool ok) override {
    if (!ok || finishing_) {
      delete this;
      return;
    }
    new CheckCall(health_, queue_);
    finishing_ = true;
    Status status;
    {
      absl::MutexLock lock(&health_.mutex_);
      status = health_.StatusOf(request_.service());
    }
    if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
      writer_.FinishWithError(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"), this);
      return;
    }
    response_.set_status(status);
    writer_.Finish(response_, grpc::Status::OK, this);
  }

 private:
  CallCount::Token counted_;  // First: counts until the call is fully destroyed.
  AsyncHealthService& health_;
  ServedQueue& queue_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  grpc::ServerAsyncResponseWriter<HealthCheckResponse> writer_{&context_};
  bool finishing_ = false;
};

// One Watch: sends the latest status whenever it changed since the last write, until the client
// leaves or the service shuts down. Holds itself until both its finish and the call's end came
// back (or a requested call never came).
class AsyncHealthService::Watcher final : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(AsyncHealthService& health, ServedQueue& queue)
      : counted_(queue.calls), health_(health), queue_(queue) {}

  static void Await(AsyncHealthService& health, ServedQueue& queue) {
    auto watcher = std::make_shared<Watcher>(health, queue);
    watcher->self_ = watcher;
    watcher->context_.AsyncNotifyWhenDone(&watcher->call_done_);
    health.service_.RequestWatch(&watcher->context_, &watcher->request_, &watcher->writer_,
                                 queue.completion.get(), queue.completion.get(),
                                 &watcher->requested_);
  }

  const std::string& name() const { return request_.service(); }

  // Sends `status` (replacing one not yet written); `last`: then ends the stream.
  void Send(Status status, bool last) {
    Offer(status, last);
    Pump();
  }
  // Send without starting the write: the caller pumps.
  void Offer(Status status, bool last) {
    absl::MutexLock lock(&mutex_);
    pending_ = status;
    ending_ = ending_ || last;
  }

 private:
  void OnRequested(bool ok) {
    if (!ok) {
      std::shared_ptr<Watcher> last = std::move(self_);
      return;
    }
    Await(health_, queue_);
    // AddWatcher offers the status first, under the table's lock: a change made meanwhile is
    // offered after it, never overwritten by it.
    const grpc::Status added = health_.AddWatcher(shared_from_this(), name());
    if (!added.ok()) return EndWith(added);
    Pump();
  }

  // Ends the stream with `status` once what is queued is written.
  void EndWith(grpc::Status status) {
    {
      absl::MutexLock lock(&mutex_);
      end_status_ = std::move(status);
      ending_ = true;
    }
    Pump();
  }

  void OnWritten(bool ok) {
    {
      absl::MutexLock lock(&mutex_);
      writing_ = false;
      if (!ok) Stop();
    }
    Pump();
  }

  void OnFinished(bool) { EndedOneWay(); }

  void OnCallDone(bool) {
    if (context_.IsCancelled()) {
      absl::MutexLock lock(&mutex_);
      Stop();
    }
    Pump();
    EndedOneWay();
  }

  void Stop() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    pending_.reset();
    ending_ = true;
  }

  // Starts the next write, or the finish once nothing is left to write; gRPC is called unlocked.
  void Pump() {
    bool write = false;
    bool finish = false;
    grpc::Status end_status;
    {
      absl::MutexLock lock(&mutex_);
      if (finished_ || writing_) return;
      if (pending_.has_value()) {
        message_.set_status(*pending_);
        pending_.reset();
        write = writing_ = true;
      } else if (ending_) {
        finish = finished_ = true;
        end_status = end_status_;
      }
    }
    if (write) queue_.tasks.Run(write_task_);
    if (finish) {
      finish_status_ = std::move(end_status);
      queue_.tasks.Run(finish_task_);
    }
  }

  // Writes and the finish start from the queue's thread (TaskQueue).
  void WriteOnQueue() { writer_.Write(message_, &written_); }
  void FinishOnQueue() { writer_.Finish(finish_status_, &finished_tag_); }

  void EndedOneWay() {
    if (ends_left_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    health_.RemoveWatcher(this);
    std::shared_ptr<Watcher> last = std::move(self_);  // May destroy this on return.
  }

  CallCount::Token counted_;  // First: counts until the watcher is fully destroyed.
  AsyncHealthService& health_;
  ServedQueue& queue_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_{&context_};
  MemberTask<Watcher, &Watcher::WriteOnQueue> write_task_{this};
  MemberTask<Watcher, &Watcher::FinishOnQueue> finish_task_{this};
  grpc::Status finish_status_;  // Handed to the queue's thread by TaskQueue.
  MemberTag<Watcher, &Watcher::OnRequested> requested_{this};
  MemberTag<Watcher, &Watcher::OnWritten> written_{this};
  MemberTag<Watcher, &Watcher::OnFinished> finished_tag_{this};
  MemberTag<Watcher, &Watcher::OnCallDone> call_done_{this};
  absl::Mutex mutex_;
  std::optional<Status> pending_ ABSL_GUARDED_BY(mutex_);
  // What the write in flight sends: set by Pump, then read on the queue's thread (TaskQueue
  // orders the two); the next Pump may set it only once that write completed.
  HealthCheckResponse message_;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ending_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mutex_){grpc::StatusCode::UNAVAILABLE,
                                                   "health: the server is shutting down"};
  std::atomic<int> ends_left_{2};
  std::shared_ptr<Watcher> self_;
};

void AsyncHealthService::AwaitCalls(const std::vector<std::unique_ptr<ServedQueue>>& queues) {
  for (const std::unique_ptr<ServedQueue>& queue : queues) {
    new CheckCall(*this, *queue);
    Watcher::Await(*this, *queue);
  }
}

AsyncHealthService::Status AsyncHealthService::StatusOf(absl::string_view name) {
  auto found = statuses_.find(name);
  return found == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : found->second;
}

void AsyncHealthService::SetServing(absl::string_view name, bool serving) {
  const Status status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  std::vector<std::shared_ptr<Watcher>> to_tell;
  {
    absl::MutexLock lock(&mutex_);
    if (shut_down_) return;
    Status& now = statuses_[name];
    if (now == status) return;
    now = status;
    for (const auto& [key, watcher] : watchers_) {
      if (watcher->name() == name) to_tell.push_back(watcher);
    }
  }
  for (const std::shared_ptr<Watcher>& watcher : to_tell) watcher->Send(status, false);
}

void AsyncHealthService::Shutdown() {
  std::vector<std::shared_ptr<Watcher>> to_end;
  {
    absl::MutexLock lock(&mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
    for (const auto& [key, watcher] : watchers_) to_end.push_back(watcher);
  }
  for (const std::shared_ptr<Watcher>& watcher : to_end) {
    watcher->Send(HealthCheckResponse::NOT_SERVING, /*last=*/true);
  }
}

grpc::Status AsyncHealthService::AddWatcher(const std::shared_ptr<Watcher>& watcher,
                                            absl::string_view name) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "health: the server is shutting down");
  }
  if (watchers_.size() >= max_watchers_) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("health: at most ", max_watchers_, " Watch streams at once"));
  }
  watchers_.emplace(watcher.get(), watcher);
  watcher->Offer(StatusOf(name), /*last=*/false);
  return grpc::Status::OK;
}

void AsyncHealthService::RemoveWatcher(const Watcher* watcher) {
  absl::MutexLock lock(&mutex_);
  watchers_.erase(watcher);
}

}  // namespace larder::server

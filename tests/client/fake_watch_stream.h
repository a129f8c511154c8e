// FakeWatchStream: one larder.v1 Watch call served by a test's fake server (FakeLarder): it
// writes the events the test sends, one at a time and in order, and ends when the test says so
// or the client cancels. Its server owns it and keeps it until the server itself is destroyed
// (after its Shutdown), so the test may call it at any time.
//
//   streams_.push_back(std::make_unique<FakeWatchStream>("users"));
//   streams_.back()->Send(ResetEvent());
//   return streams_.back().get();                // from CallbackService::Watch
//   … stream->Send(KeyEvent("42")); stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""));
#pragma once

#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "larder/v1/cache.grpc.pb.h"

namespace larder::testing {

// Thread-safe. gRPC operations are started outside the lock.
class FakeWatchStream final : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  explicit FakeWatchStream(std::string ns) : ns_(std::move(ns)) {}

  const std::string& ns() const { return ns_; }

  // Queues `event` for writing; ignored once the stream is ending.
  void Send(v1::WatchEvent event) {
    {
      absl::MutexLock lock(&mutex_);
      if (ending_) return;
      queue_.push_back(std::move(event));
    }
    Pump();
  }
  // Ends the call with `status` once the write in progress is done; drops queued events.
  void End(grpc::Status status) {
    {
      absl::MutexLock lock(&mutex_);
      if (ending_) return;
      ending_ = true;
      status_ = std::move(status);
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mutex_);
      writing_ = false;
      if (!ok && !ending_) {
        ending_ = true;
        status_ = grpc::Status::CANCELLED;
      }
    }
    Pump();
  }
  void OnCancel() override { End(grpc::Status::CANCELLED); }
  void OnDone() override {}  // Kept by the server.

 private:
  // Starts the next write, or the Finish, when nothing is in progress.
  void Pump() {
    bool finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mutex_);
      if (writing_ || finished_) return;
      if (ending_) {
        finished_ = finish = true;
        status = status_;
      } else if (!queue_.empty()) {
        writing_ = true;
        current_ = std::move(queue_.front());
        queue_.pop_front();
      } else {
        return;
      }
    }
    if (finish) return Finish(status);
    StartWrite(&current_);
  }

  const std::string ns_;
  absl::Mutex mutex_;
  std::deque<v1::WatchEvent> queue_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ending_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  v1::WatchEvent current_;  // Written only while writing_, by the Pump that set it.
};

}  // namespace larder::testing

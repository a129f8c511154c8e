#include "server/service/async_watch_stream.h"

#include <utility>

namespace larder::server {

void AsyncWatchStream::Await(v1::Cache::AsyncService& service, ServedQueue& queue,
                             CallRunner& runner) {
  auto stream = std::make_shared<AsyncWatchStream>(service, queue, runner);
  stream->self_ = stream;
  stream->context_.AsyncNotifyWhenDone(&stream->call_done_);
  service.RequestWatch(&stream->context_, &stream->request_, &stream->writer_,
                       queue.completion.get(), queue.completion.get(), &stream->requested_);
}

void AsyncWatchStream::StartWriting(const v1::WatchEvent* event) {
  to_write_ = event;
  queue_.tasks.Run(write_task_);
}

void AsyncWatchStream::FinishWith(const grpc::Status& status) {
  finish_status_ = status;
  queue_.tasks.Run(finish_task_);
}

void AsyncWatchStream::OnRequested(bool ok) {
  if (!ok) {
    // Shutting down before a call came: no end of call will follow.
    std::shared_ptr<AsyncWatchStream> last = std::move(self_);
    return;
  }
  Await(service_, queue_, runner_);
  const auto started = std::chrono::steady_clock::now();
  const absl::Status allowed = runner_.AllowWatch(context_, request_);
  const absl::Status outcome = Open(request_.namespace_(), shared_from_this(), allowed);
  runner_.RecordWatch(outcome, started);
}

void AsyncWatchStream::OnFinished(bool) { EndedOneWay(); }

void AsyncWatchStream::OnCallDone(bool) {
  if (context_.IsCancelled()) Cancelled();
  EndedOneWay();
}

void AsyncWatchStream::EndedOneWay() {
  if (ends_left_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Unregister();
  std::shared_ptr<AsyncWatchStream> last = std::move(self_);  // May destroy this on return.
}

}  // namespace larder::server

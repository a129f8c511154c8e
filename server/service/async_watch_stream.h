// AsyncWatchStream: one larder.v1.Cache/Watch call on a completion queue, the async-API twin of
// WatchStream (both are WatchOutboxes: same queueing, same bounds). Await requests a call; when
// one comes the stream requests the next, checks it (CallRunner::AllowWatch), registers with the
// hub and writes what the hub delivers, one write at a time, each started from its queue's
// thread (TaskQueue).
//
//   AsyncWatchStream::Await(service, *queue, runner);   // per queue, after BuildAndStart
//
// Lifetime: the stream holds a reference to itself until both its finish and the call's end
// (AsyncNotifyWhenDone) have come back from the queue, or until a requested call never came.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "grpcpp/completion_queue.h"
#include "grpcpp/server_context.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/service/async_tag.h"
#include "server/service/call_runner.h"
#include "server/service/watch_stream.h"

namespace larder::server {

class AsyncWatchStream final : public WatchOutbox,
                               public std::enable_shared_from_this<AsyncWatchStream> {
 public:
  static void Await(v1::Cache::AsyncService& service, ServedQueue& queue, CallRunner& runner);

  AsyncWatchStream(v1::Cache::AsyncService& service, ServedQueue& queue, CallRunner& runner)
      : WatchOutbox(runner.watch_hub()),
        counted_(queue.calls),
        service_(service),
        queue_(queue),
        runner_(runner) {}

 private:
  void OnRequested(bool ok);
  void OnWritten(bool ok) { WriteDone(ok); }
  void OnFinished(bool ok);
  void OnCallDone(bool ok);
  // After both the finish and the call's end: leaves the hub, drops the self-reference.
  void EndedOneWay();

  // The outbox starts at most one write or finish at a time, from any thread; each is started
  // from the queue's thread.
  void StartWriting(const v1::WatchEvent* event) override;
  void FinishWith(const grpc::Status& status) override;
  void WriteOnQueue() { writer_.Write(*to_write_, &written_); }
  void FinishOnQueue() { writer_.Finish(finish_status_, &finished_); }

  CallCount::Token counted_;  // First: counts until the stream is fully destroyed.
  v1::Cache::AsyncService& service_;
  ServedQueue& queue_;
  CallRunner& runner_;
  grpc::ServerContext context_;
  v1::WatchRequest request_;
  grpc::ServerAsyncWriter<v1::WatchEvent> writer_{&context_};
  MemberTag<AsyncWatchStream, &AsyncWatchStream::OnRequested> requested_{this};
  MemberTag<AsyncWatchStream, &AsyncWatchStream::OnWritten> written_{this};
  MemberTag<AsyncWatchStream, &AsyncWatchStream::OnFinished> finished_{this};
  MemberTag<AsyncWatchStream, &AsyncWatchStream::OnCallDone> call_done_{this};
  MemberTask<AsyncWatchStream, &AsyncWatchStream::WriteOnQueue> write_task_{this};
  MemberTask<AsyncWatchStream, &AsyncWatchStream::FinishOnQueue> finish_task_{this};
  const v1::WatchEvent* to_write_ = nullptr;  // Handed to the queue's thread by TaskQueue.
  grpc::Status finish_status_;                // Likewise.
  std::atomic<int> ends_left_{2};             // The finish and the call's end.
  std::shared_ptr<AsyncWatchStream> self_;    // See Lifetime above.
};

}  // namespace larder::server

// WatchStream: one Watch call, the gRPC end of a WatchSink. Events the hub delivers are queued
// (at most the hub's buffer_bytes of them; past that the queue is replaced by one reset, counted
// in WatchCounters::overflow_resets) and written one at a time; the stream unregisters from the
// hub when it is done, whoever ended it (the client, the hub, a failed write).
//
//   grpc::ServerWriteReactor<v1::WatchEvent>* reactor =
//       WatchStream::Open(context, hub, request.namespace_(), allowed);  // allowed: auth, input
//
// Lifetime: the stream holds a reference to itself until gRPC calls OnDone; the hub holds one
// while registered. gRPC calls are never made with the stream's mutex held.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "larder/v1/cache.pb.h"
#include "server/service/watch_hub.h"

namespace larder::server {

class WatchStream final : public grpc::ServerWriteReactor<v1::WatchEvent>,
                          public WatchSink,
                          public std::enable_shared_from_this<WatchStream> {
 public:
  // A stream of `ns`'s changes, or, when `allowed` (or the hub) refuses it, a call finished
  // with that status at once; `outcome` gets OK or that status.
  static grpc::ServerWriteReactor<v1::WatchEvent>* Open(WatchHub& hub, absl::string_view ns,
                                                        const absl::Status& allowed,
                                                        absl::Status& outcome);

  WatchStream(WatchHub& hub, absl::string_view ns) : hub_(hub), ns_(ns) {}

  void Deliver(uint64_t sequence, storage::ChangeKind kind, absl::string_view subject) override;
  void Reset(uint64_t sequence) override;
  void End(absl::Status status) override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // What to do once the mutex is released.
  struct Next {
    const v1::WatchEvent* write = nullptr;
    std::optional<absl::Status> finish;
  };

  // Queues `event`, or replaces the queue by a reset when it would pass buffer_bytes.
  void Enqueue(v1::WatchEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The next write, or the finish once the queue is drained and the stream is ending.
  Next TakeNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Act(const Next& next);

  WatchHub& hub_;
  const std::string ns_;
  absl::Mutex mutex_;
  std::deque<v1::WatchEvent> queue_ ABSL_GUARDED_BY(mutex_);
  int64_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  v1::WatchEvent writing_ ABSL_GUARDED_BY(mutex_);
  bool write_in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<absl::Status> ending_ ABSL_GUARDED_BY(mutex_);  // End()'s status, once called.
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;               // Finish() was called.
  std::shared_ptr<WatchStream> self_;                           // Until OnDone.
};

}  // namespace larder::server

// WatchOutbox: the queue between the WatchHub and one Watch call, whatever gRPC API serves it.
// Events the hub delivers are queued (at most the hub's buffer_bytes of them; past that the
// queue is replaced by one reset, counted in WatchCounters::overflow_resets) and written one at a
// time; once the call ends (the hub ends it, the client cancels, a write fails) it is finished.
// WatchStream is the outbox on gRPC's callback API; AsyncWatchStream on completion queues.
//
//   grpc::ServerWriteReactor<v1::WatchEvent>* reactor =
//       WatchStream::Open(hub, request.namespace_(), allowed, outcome);  // allowed: auth, input
//
// Lifetime: a stream holds a reference to itself until gRPC is done with the call; the hub holds
// one while registered. gRPC calls are never made with the outbox's mutex held.
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

class WatchOutbox : public WatchSink {
 public:
  explicit WatchOutbox(WatchHub& hub) : hub_(hub) {}

  // Registers `self` (this outbox) with the hub for `ns`'s changes, or, when `allowed` (or the
  // hub) refuses it, ends the call with that status at once. Returns OK or that status.
  absl::Status Open(absl::string_view ns, std::shared_ptr<WatchSink> self,
                    const absl::Status& allowed);

  void Deliver(uint64_t sequence, storage::ChangeKind kind, absl::string_view subject) override;
  void Reset(uint64_t sequence) override;
  void End(absl::Status status) override;

 protected:
  // gRPC's side, one per API: start writing `event` (valid until WriteDone), or finish the call.
  virtual void StartWriting(const v1::WatchEvent* event) = 0;
  virtual void FinishWith(const grpc::Status& status) = 0;

  // The write started last completed (`ok` false: the stream broke).
  void WriteDone(bool ok);
  void Cancelled() { End(absl::CancelledError("Watch: cancelled by the client")); }
  // Leaves the hub: no call reaches the outbox afterwards.
  void Unregister() { hub_.Remove(ns_, this); }

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
  void EnqueueAndAct(v1::WatchEvent event);

  WatchHub& hub_;
  std::string ns_;  // Set by Open, before the hub knows the outbox.
  absl::Mutex mutex_;
  std::deque<v1::WatchEvent> queue_ ABSL_GUARDED_BY(mutex_);
  int64_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  v1::WatchEvent writing_ ABSL_GUARDED_BY(mutex_);
  bool write_in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<absl::Status> ending_ ABSL_GUARDED_BY(mutex_);  // End()'s status, once called.
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;               // FinishWith() was called.
};

class WatchStream final : public grpc::ServerWriteReactor<v1::WatchEvent>,
                          public WatchOutbox,
                          public std::enable_shared_from_this<WatchStream> {
 public:
  // A stream of `ns`'s changes, or, when `allowed` (or the hub) refuses it, a call finished
  // with that status at once; `outcome` gets OK or that status.
  static grpc::ServerWriteReactor<v1::WatchEvent>* Open(WatchHub& hub, absl::string_view ns,
                                                        const absl::Status& allowed,
                                                        absl::Status& outcome);

  explicit WatchStream(WatchHub& hub) : WatchOutbox(hub) {}

  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override;

 private:
  void StartWriting(const v1::WatchEvent* event) override { StartWrite(event); }
  void FinishWith(const grpc::Status& status) override { Finish(status); }

  std::shared_ptr<WatchStream> self_;  // Until OnDone.
};

}  // namespace larder::server

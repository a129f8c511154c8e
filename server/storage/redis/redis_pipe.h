// RedisPipe: one connection to one Redis node that any number of threads share. Each caller's
// commands go out back to back with everyone else's, without waiting for earlier replies
// (pipelining), and one I/O thread per pipe reads the replies and hands each caller its own, in
// order: the commands of concurrent callers leave in one write and their replies come back in one
// read. That pays when many calls are in flight per pipe and nobody blocks on them: RedisEngine
// sends its Gets with Send, whose callback runs on the I/O thread, so a Get costs no thread of
// its own. Blocking callers (Call) cost more than a connection each: measured with 4 storage
// threads, 1 or 2 pipes served 4-14% fewer Gets/s than RedisPool's 8 connections at 13-19% more
// CPU per Get (the hand-off adds about 5 system calls per call), so the engine's other calls use
// RedisPool. Internal to server/storage/redis.
//
//   RedisPipe pipe(endpoint, {});
//   absl::StatusOr<std::vector<RedisReply>> replies =
//       pipe.Call({{"SET", key, value}, {"GET", key}}, absl::Now() + absl::Seconds(1));
//   pipe.Send({{"GET", key}}, [](absl::StatusOr<std::vector<RedisReply>> replies) { ... });
//
// Faults cost only this pipe: a connection error, or a reply that takes longer than
// command_timeout (a frozen or overloaded server), closes this connection and fails every call
// waiting on it with kUnavailable; the pipe then reconnects by itself with jittered exponential
// backoff, one attempt at a time, while calls fail fast. A caller's own deadline ends only its
// wait: its replies, when they come, are read and dropped, and the connection stays.
//
// Costs: a call formats its commands (O(bytes)), takes the pipe's mutex once to queue them and
// wakes the I/O thread only when it was idle; the I/O thread takes the mutex once per read to hand
// over every reply that read brought. At most max_queued_calls wait at once; more fail at once
// with kUnavailable. Thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage::internal {

struct RedisPipeOptions {
  absl::Duration connect_timeout = absl::Seconds(1);
  // The longest a written command may wait for its reply before the connection counts as stalled.
  absl::Duration command_timeout = absl::Seconds(1);
  // First and longest wait between reconnection attempts; each wait is drawn from [b/2, b].
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // Calls waiting at most at once (queued or written, not yet answered).
  int max_queued_calls = 4096;
};

class RedisPipe {
 public:
  // Starts the I/O thread, which connects at once (AUTH and SELECT as `endpoint` says).
  RedisPipe(RedisEndpoint endpoint, RedisPipeOptions options);
  // Fails every waiting call with kUnavailable, closes the connection and joins the I/O thread.
  ~RedisPipe();
  RedisPipe(const RedisPipe&) = delete;
  RedisPipe& operator=(const RedisPipe&) = delete;

  // Sends `commands` back to back (no other caller's command comes between them) and returns
  // their replies in order, error replies included as replies. kUnavailable when the pipe is
  // not connected (with the reason), the connection fails or stalls before every reply came,
  // the queue is full, or `deadline` passes; kPermissionDenied / kInvalidArgument while Redis
  // refuses the credentials / database.
  absl::StatusOr<std::vector<RedisReply>> Call(
      const std::vector<std::vector<absl::string_view>>& commands, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mutex_);

  // What Send calls back with: Call's result.
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::vector<RedisReply>>) &&>;
  // Like Call, without waiting: `done` runs exactly once, on the I/O thread when the replies
  // came or the connection failed or stalled, or at once on the caller's thread when the pipe
  // cannot take the call. `done` must not block (it holds up every other call of the pipe).
  void Send(const std::vector<std::vector<absl::string_view>>& commands, Callback done)
      ABSL_LOCKS_EXCLUDED(mutex_);

  // True while connected. WaitUntilConnected waits up to `timeout` for it.
  bool connected() const ABSL_LOCKS_EXCLUDED(mutex_);
  bool WaitUntilConnected(absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mutex_);
  // How many times a connection was made (the first one included).
  int connections_made() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  struct PendingCall;
  using Completed = std::vector<std::shared_ptr<PendingCall>>;

  // Queues `call`'s commands; not OK (nothing queued) when the pipe cannot take it.
  absl::Status Enqueue(const std::vector<std::vector<absl::string_view>>& commands,
                       std::shared_ptr<PendingCall> call) ABSL_LOCKS_EXCLUDED(mutex_);
  // Hands `call` its replies or failure: runs its callback, or wakes its caller.
  static void Complete(PendingCall& call);

  void Run();
  // Connects (after the backoff when the last attempt failed); false when stopping.
  void Connect();
  // One round of poll, write, read and stall check on the open connection.
  void Serve();
  absl::Status Exchange(bool readable);
  absl::Status DeliverReplies(Completed& completed) ABSL_LOCKS_EXCLUDED(mutex_);
  absl::Duration PollTimeout() ABSL_LOCKS_EXCLUDED(mutex_);
  // Closes the connection and fails every queued and written call with `status`.
  void Reset(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mutex_);
  void Wake();
  void WaitForWake(absl::Duration timeout);

  const RedisEndpoint endpoint_;
  const RedisPipeOptions options_;
  const int wake_fd_;  // An eventfd: a call queued on an idle pipe, or the destructor.

  mutable absl::Mutex mutex_;
  std::string outbox_ ABSL_GUARDED_BY(mutex_);  // Queued calls' commands, in RESP form.
  std::deque<std::shared_ptr<PendingCall>> calls_ ABSL_GUARDED_BY(mutex_);  // Oldest first.
  size_t written_ ABSL_GUARDED_BY(mutex_) = 0;  // calls_[0, written_) went to the connection.
  bool connected_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status last_error_ ABSL_GUARDED_BY(mutex_) = absl::UnavailableError("connecting");
  int connections_made_ ABSL_GUARDED_BY(mutex_) = 0;

  // The I/O thread's own.
  std::unique_ptr<RedisConnection> connection_;
  bool write_pending_ = false;
  absl::Duration backoff_ = absl::ZeroDuration();
  absl::BitGen random_;
  std::thread thread_;
};

}  // namespace larder::storage::internal

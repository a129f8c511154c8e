// The plumbing of larderd's completion-queue (async API) services. Every tag larderd hands a
// completion queue is an AsyncTag; QueueThreads polls its queues, one thread each, and hands each
// event to its tag's Proceed. MemberTag turns a member function into a tag, for calls that wait
// on several events at once (a stream's write, finish and end).
//
// Each queue's thread is a serving thread of storage::DeferredWork: an
// engine may put a call's I/O off to the end of the burst of events the thread is serving, which
// it then does for all of them at once (Redis Gets: one batch per master on the thread's own
// link). A burst is the events ready at once, up to 64.
//
// Every operation on a call is started from its queue's thread: work that finishes elsewhere (an
// engine's I/O thread, the storage executor, the Watch hub) hands the start to that thread
// through the queue's TaskQueue (a QueuedTask each). So gRPC's operation buffers, which its
// headers compile into larder, are only ever touched by one thread (ThreadSanitizer checks it),
// and a finished call's reply is written by the thread that polls its socket.
//
//   QueueThreads threads;
//   threads.AddTo(builder, 2);            // before BuildAndStart: two queues
//   ... services post their first requests on threads.queues() ...
//   threads.Start();                      // after BuildAndStart
//   server->Shutdown(); threads.Stop();   // Stop waits for the calls, drains, then joins
#pragma once

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/server_builder.h"

namespace larder::server {

class AsyncTag {
 public:
  // The operation this tag stood for completed (`ok` false: it failed, or the server is
  // shutting down and a requested call never came).
  virtual void Proceed(bool ok) = 0;

 protected:
  ~AsyncTag() = default;
};

template <typename Owner, void (Owner::*kMethod)(bool)>
class MemberTag final : public AsyncTag {
 public:
  explicit MemberTag(Owner* owner) : owner_(owner) {}
  void Proceed(bool ok) override { (owner_->*kMethod)(ok); }

 private:
  Owner* owner_;
};

// Work for a queue's thread. A task is queued at most once at a time.
class QueuedTask {
 public:
  virtual void RunOnQueue() = 0;

 protected:
  ~QueuedTask() = default;
};

template <typename Owner, void (Owner::*kMethod)()>
class MemberTask final : public QueuedTask {
 public:
  explicit MemberTask(Owner* owner) : owner_(owner) {}
  void RunOnQueue() override { (owner_->*kMethod)(); }

 private:
  Owner* owner_;
};

// Runs tasks on one completion queue's thread: at once when called there, else from the queue:
// tasks posted while the thread is busy wait in a list, and one grpc::Alarm (set and cancelled,
// which posts its tag at once) wakes the thread for all of them.
class TaskQueue final : private AsyncTag {
 public:
  explicit TaskQueue(grpc::CompletionQueue& queue) : queue_(queue) {}
  void Run(QueuedTask& task);
  // Marks the calling thread as this queue's (QueueThreads does, for each of its threads).
  void BecomeCurrent() { current_ = this; }

 private:
  void Proceed(bool ok) override;  // The alarm's tag: runs what was posted.

  static thread_local const TaskQueue* current_;
  grpc::CompletionQueue& queue_;
  absl::Mutex mutex_;
  std::vector<QueuedTask*> posted_ ABSL_GUARDED_BY(mutex_);
  bool wake_pending_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Alarm alarm_ ABSL_GUARDED_BY(mutex_);
};

// The call objects alive on one queue. A server's Shutdown cancels its calls but does not wait
// for the objects that hold them, whose last operations (a cancelled call's finish) still need
// the queue: QueueThreads::Stop waits for the count to reach zero before it shuts the queue down.
// Each call object holds a Token as its first member, so it counts until it is fully destroyed.
class CallCount {
 public:
  class Token {
   public:
    explicit Token(CallCount& count) : count_(count) { count_.Change(+1); }
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token() { count_.Change(-1); }

   private:
    CallCount& count_;
  };

  // True once no call is left; false when `timeout` passed first.
  bool AwaitNone(absl::Duration timeout);
  int64_t Alive();

 private:
  void Change(int delta);

  absl::Mutex mutex_;
  int64_t alive_ ABSL_GUARDED_BY(mutex_) = 0;
};

// A completion queue with its task queue and its count of calls.
struct ServedQueue {
  explicit ServedQueue(std::unique_ptr<grpc::ServerCompletionQueue> queue)
      : completion(std::move(queue)), tasks(*completion) {}
  std::unique_ptr<grpc::ServerCompletionQueue> completion;
  TaskQueue tasks;
  CallCount calls;
};

class QueueThreads {
 public:
  // `slow_calls_log_period`: how often Stop logs while calls keep it waiting.
  explicit QueueThreads(absl::Duration slow_calls_log_period = kSlowCallsLogPeriod)
      : slow_calls_log_period_(slow_calls_log_period) {}
  QueueThreads(const QueueThreads&) = delete;
  QueueThreads& operator=(const QueueThreads&) = delete;
  ~QueueThreads() { Stop(); }

  // Adds `count` completion queues to `builder` (call before BuildAndStart).
  void AddTo(grpc::ServerBuilder& builder, int count);
  const std::vector<std::unique_ptr<ServedQueue>>& queues() const { return queues_; }
  // One thread per queue, each handing events to their tags until its queue is shut down.
  void Start();
  // Once the calls of every queue have ended, shuts every queue down and joins the threads once
  // the queues are drained. Call after the server's Shutdown returned. Idempotent.
  //
  // It waits as long as calls live: a queue shut down under a live call would abort the process
  // at that call's next operation (its finish). After the server's Shutdown every call is
  // cancelled, so only calls still waiting for their engine take long: a deep storage queue, or
  // an engine at its own timeouts. Every slow_calls_log_period of waiting logs an error.
  void Stop();

  static constexpr absl::Duration kSlowCallsLogPeriod = absl::Seconds(30);

 private:
  const absl::Duration slow_calls_log_period_;
  std::vector<std::unique_ptr<ServedQueue>> queues_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace larder::server

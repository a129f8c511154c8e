// EventLoop: one thread of larder-proxy's front end (front_end.h): an epoll set holding the
// loop's client connections, an eventfd on which workers and the accepting loop hand it work,
// and on the first loop the listening socket (new connections are dealt to the loops in turn).
// Each connection belongs to one loop for its whole life. While a worker answers its request,
// the connection is out of the epoll set and the worker owns it (Connection::with_worker): it
// writes the response itself and puts the connection back in the set, so the usual answer from
// a worker costs the loop nothing. A request the application reads a value for in a batch
// (FrontEndApp::FetchFor) is parked until its batch comes back (fetch_batcher.h, shared by the
// loops), then answered on the loop. Internal to proxy/.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proxy/connection.h"
#include "proxy/fetch_batcher.h"
#include "proxy/front_end.h"
#include "proxy/worker_pool.h"

namespace larder::proxy::internal {

class EventLoop {
 public:
  // Everything passed must outlive the loop; `connections` counts every loop's connections.
  // `listen_fd` is -1 for loops that do not accept; an accepting loop deals new connections to
  // `peers` (itself included) in turn, set with set_peers before Start. `index` is the loop's
  // owner number in `batcher`.
  EventLoop(const FrontEndOptions& options, FrontEndApp& app, WorkerPool& workers,
            FetchBatcher& batcher, int index, int listen_fd, std::atomic<int>& connections);
  void set_peers(std::vector<EventLoop*> peers) { peers_ = std::move(peers); }
  // Quits and joins the thread, closing what is still open.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Creates the epoll set and starts the thread; false when the kernel refuses a descriptor.
  bool Start();
  // Stops accepting; idle connections close, the others after their current response.
  void BeginStop() ABSL_LOCKS_EXCLUDED(mutex_);
  // Ends the thread at its next wake-up, closing what is still open.
  void Quit();
  void Join();

  // Takes a connection accepted by another loop.
  void Adopt(int fd, std::string peer) ABSL_LOCKS_EXCLUDED(mutex_);
  // From the batcher: parked requests of this loop whose batch came back.
  void Deliver(std::vector<FetchBatcher::Item> items) ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  void Run();
  // One event of the set: the listening socket, the wake-up eventfd or a connection (whatever
  // the event, a connection is read, or written when it is writing).
  void HandleEvent(void* tag);
  void AcceptSome();
  void Open(int fd, std::string peer);
  void TakeWakeUps() ABSL_LOCKS_EXCLUDED(mutex_);
  void BeginStopping();
  void Sweep(absl::Time now);

  void OnReadable(Connection& connection);
  // Reads and answers the requests the connection's buffer holds: at once when the application
  // can (AnswerAtOnce), else on a worker; returns when it needs more bytes or waits.
  void Serve(Connection& connection);
  // Writes the prepared response; true when the connection is ready for its next request,
  // false when it waits to be writable or was destroyed.
  bool Finish(Connection& connection);
  // Parks the request until its batch comes back, when the application reads a value for it
  // (FetchFor); false otherwise.
  bool Park(Connection& connection, IncomingRequest& request);
  // Answers a parked request from its value, on the loop, or hands it to a worker.
  void AnswerFetched(FetchBatcher::Item& item);
  // Hands the request to a worker, which then owns the connection; false when the workers'
  // queue is full (the connection stays with the loop).
  bool ToWorker(Connection& connection, IncomingRequest request);
  // On a worker, which owns `connection`: answers, writes, lingers for the next requests, and
  // hands the connection back.
  void AnswerOnWorker(Connection& connection, IncomingRequest request) ABSL_LOCKS_EXCLUDED(mutex_);
  void Linger(Connection& connection);
  // On the worker: frames and writes `response`; true when it was written whole and the
  // connection stays open for the next request.
  bool RespondOnWorker(Connection& connection, const http::Response& response);
  // From a worker: `connection` needs the loop (its response was not all written, it closes,
  // or bytes wait in its buffer).
  void HandBack(Connection& connection) ABSL_LOCKS_EXCLUDED(mutex_);
  void TakeBack(Connection& connection);
  void Watch(Connection& connection, uint32_t events);
  void Wake();
  void Destroy(Connection& connection);

  const FrontEndOptions& options_;
  FrontEndApp& app_;
  WorkerPool& workers_;
  const int listen_fd_;
  std::atomic<int>& connections_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  FetchBatcher& batcher_;
  const int index_;
  std::vector<EventLoop*> peers_;
  std::atomic<size_t> next_peer_{0};
  std::atomic<bool> stopping_{false};  // Read by workers: responses then close.

  // The loop thread's own.
  absl::flat_hash_set<Connection*> open_;
  std::vector<Connection*> destroyed_;      // Closed during the current batch; freed after it.
  std::vector<FetchBatcher::Item> parked_;  // Parked during the current turn: submitted after it.
  absl::Time last_sweep_ = absl::InfinitePast();

  absl::Mutex mutex_;
  std::vector<Connection*> handed_back_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::pair<int, std::string>> adopted_ ABSL_GUARDED_BY(mutex_);
  std::vector<FetchBatcher::Item> delivered_ ABSL_GUARDED_BY(mutex_);
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<bool> quit_requested_{false};
};

}  // namespace larder::proxy::internal

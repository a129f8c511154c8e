// FrontEnd: larder-proxy's HTTP/1.1 listener. A few event loops (epoll, one thread each) hold
// the connections (the first loop accepts and deals them out in turn), read requests with the
// proxy's own parser (http1_parser.h) and answer at once, on the loop, every request the
// application can answer without waiting (FrontEndApp::AnswerAtOnce: a fresh response the near
// cache holds). A request whose answer may come from a value the application reads in bulk
// (FrontEndApp::FetchFor: a stored response in larderd) is parked on its loop and read together
// with the other parked requests of every loop, one batch out at a time (fetch_batcher.h), then
// answered on the loop (AnswerFetched). Every other request goes to a bounded pool of worker
// threads that may block (FrontEndApp::Answer: larderd, the upstream). The worker writes the
// response itself and then serves the connection's next requests for as long as they follow
// within 2 ms (as Varnish's workers linger), before handing the connection back to its loop. So
// a near-cache hit costs no thread switch and no system call beyond its read and write, whatever
// the number of connections; hits read from larderd share one round trip per batch; and
// back-to-back requests that need a worker pay one hand-off, not one each.
//
// Bounds, for hostile clients: a request head over Http1Limits::max_head_bytes gets 431, a body
// over max_body_bytes 413, a request line or field the parser refuses 400 / 501 / 505, each with
// a one-line text/plain reason and the connection closed. A connection idle between requests for
// idle_timeout, or taking longer than request_timeout to send one request's head and body, is
// closed. At most max_connections are open (more are closed at accept) and max_queued requests
// wait for a worker (more get 503). One request is answered at a time per connection, in order
// (pipelined requests wait in the read buffer).
//
//   FrontEndOptions options;
//   options.port = 8080;
//   auto front = larder::proxy::FrontEnd::Start(options, app);   // serves on its own threads
//   ...
//   (*front)->Stop(absl::Seconds(10));
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "larder/http/response.h"
#include "proxy/forwarding.h"
#include "proxy/http1_parser.h"

namespace larder::proxy {

namespace internal {
struct FrontEndState;
}  // namespace internal

// A value an event loop may read for a request, in a batch with other requests' values of the
// same group (FrontEndApp::FetchFor).
struct BatchedRead {
  std::string group;  // Values of one group are read together (a larder namespace).
  std::string key;
  int tag = 0;  // The application's own, given back to AnswerFetched (a route's index).
};

// Called exactly once, on any thread, with one value per key asked for, in order; nullopt when
// the key holds nothing or the read failed.
using FetchDone = std::function<void(std::vector<std::optional<std::string>>)>;

// What the front end serves. Every method is called concurrently, from any of its threads.
class FrontEndApp {
 public:
  virtual ~FrontEndApp() = default;
  // The response when it can be produced without blocking or waiting for anything, else nullopt
  // (the request then goes to FetchFor, or to Answer). Called first for every request, on an
  // event loop or on a worker serving a connection's next request. Must not block.
  virtual std::optional<http::Response> AnswerAtOnce(const IncomingRequest& request) = 0;
  // On a worker thread: the response; may block (bounded by the application's own timeouts).
  virtual http::Response Answer(IncomingRequest request) = 0;

  // Batched reads, optional (by default nothing is batched). On an event loop, for a request
  // AnswerAtOnce did not answer: the one value that may answer it, or nullopt (then Answer on a
  // worker). The loop gathers such requests while its batch is out and reads the next batch's
  // values with FetchMany, one call per group and up to FrontEndOptions::max_batch_keys
  // distinct keys, when it comes back; AnswerFetched then answers each request on the loop.
  // Must not block.
  virtual std::optional<BatchedRead> FetchFor(const IncomingRequest& request) {
    (void)request;
    return std::nullopt;
  }
  // Reads `keys` (distinct, of one group) without blocking the caller; `done` as FetchDone says.
  virtual void FetchMany(const std::string& group, std::vector<std::string> keys, FetchDone done) {
    (void)group;
    done(std::vector<std::optional<std::string>>(keys.size()));
  }
  // On the event loop: the response to `request` from the value read for `read`, or nullopt
  // (then Answer on a worker). Must not block.
  virtual std::optional<http::Response> AnswerFetched(const IncomingRequest& request,
                                                      const BatchedRead& read,
                                                      const std::optional<std::string>& value) {
    (void)request, (void)read, (void)value;
    return std::nullopt;
  }
};

struct FrontEndOptions {
  // Address to listen on. Default: 127.0.0.1, port 0 (a free port; see FrontEnd::port()).
  std::string host = "127.0.0.1";
  int port = 0;
  // Event loop threads. Default: 0, meaning one per core (at most 16).
  int event_loops = 0;
  // Worker threads for requests that may block. Default: 64.
  int workers = 64;
  // Requests waiting for a worker at most; more are answered 503. Default: 4096.
  int max_queued = 4096;
  // Open client connections at most; more are closed as they are accepted. Default: 10000.
  int max_connections = 10000;
  // Distinct keys in one FrontEndApp::FetchMany at most; 0 reads nothing in batches (FetchFor is
  // not called). Default: 64.
  int max_batch_keys = 64;
  Http1Limits limits;
  // A keep-alive connection with no request for this long is closed. Default: 5 s.
  absl::Duration idle_timeout = absl::Seconds(5);
  // A request whose head and body have not all arrived this long after its first byte is
  // closed (slow clients). Default: 30 s.
  absl::Duration request_timeout = absl::Seconds(30);
  // Pending connections the kernel queues. Default: 1024.
  int listen_backlog = 1024;
  // Called (on a loop or a worker) when a request's body was refused for its size (413), for
  // metrics. Default: nothing.
  std::function<void()> on_body_refused;
};

class FrontEnd {
 public:
  // Binds host:port and starts the loops and workers. kUnavailable when the address cannot be
  // bound; kInvalidArgument for a host that is not an IPv4 or IPv6 literal or "localhost".
  // `app` must outlive the front end.
  static absl::StatusOr<std::unique_ptr<FrontEnd>> Start(FrontEndOptions options, FrontEndApp& app);
  // Stops as Stop(10 s) when still serving.
  ~FrontEnd();
  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

  int port() const { return port_; }

  // Stops accepting, lets requests in flight finish (their connections then close) and closes
  // idle connections, for up to `grace`; then stops the threads. False when requests were still
  // running after `grace` (their threads are left to finish on their own; exit the process).
  bool Stop(absl::Duration grace);

 private:
  FrontEnd();

  // What the threads use; leaked when Stop leaves requests running.
  std::unique_ptr<internal::FrontEndState> state_;
  int listen_fd_ = -1;
  int port_ = -1;
  bool stopped_ = false;
  bool stop_result_ = true;
};

}  // namespace larder::proxy

// Connection: one client connection of larder-proxy's front end (front_end.h) and the steps of
// serving it, free of where they run: reading a request out of the received bytes, framing a
// response, writing it. The event loop (event_loop.h) runs them for the connections it watches,
// and a worker for the connection it owns while it answers (and lingers on) a request. Internal
// to proxy/.
//
//   connection.in.append(bytes);
//   if (ReadRequest(connection, options) == RequestStep::kReady) {
//     IncomingRequest request = TakeRequest(connection);
//     PrepareResponse(connection, app.Answer(std::move(request)));
//     WriteResult written = WriteOut(connection);
//   }
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "larder/http/response.h"
#include "proxy/forwarding.h"
#include "proxy/front_end.h"
#include "proxy/http1_parser.h"

namespace larder::proxy::internal {

// Where a connection is in its current request.
enum class Phase {
  kHead,       // Reading a request head (or idle between requests).
  kBody,       // Reading the request's body.
  kAnswering,  // The request is being answered.
  kWriting,    // The response is being written.
};

struct Connection {
  int fd = -1;
  std::string peer;
  Phase phase = Phase::kHead;
  std::string in;  // Received bytes not consumed yet.
  HeadScanner scanner;
  RequestHead head;
  std::optional<ChunkedDecoder> chunked;
  std::string body;
  std::string out;  // The response being written.
  size_t out_sent = 0;
  bool close_after = false;  // Close once `out` is written.
  bool closed = false;       // The connection failed or ended; only its owner's cleanup is left.
  bool destroyed = false;    // Closed by the loop; freed after the current batch of events.
  uint32_t watched = 0;      // The epoll events registered; 0 when out of the set.
  // A worker owns the connection: the loop leaves it alone (its events stay pending).
  std::atomic<bool> with_worker{false};
  // Parked by its loop until its batched read comes back (fetch_batcher.h); the loop takes it
  // out of the set only if it sends bytes or hangs up meanwhile.
  bool awaiting_fetch = false;
  absl::Time last_active;
  absl::Time request_started = absl::InfiniteFuture();  // The current request's first byte.
};

enum class RequestStep {
  kNeedMore,  // The request has not all arrived.
  kReady,     // A whole request is ready: TakeRequest.
  kRefused,   // Refused: the refusal is prepared (PrepareResponse) and the connection closes.
};

// Parses what `connection.in` holds of the current request (consuming it) until the request is
// whole, more bytes are needed, or it is refused. Sends "100 Continue" when the client waits for
// it. `on_body_refused` runs for a body refused for its size. O(bytes received).
RequestStep ReadRequest(Connection& connection, const FrontEndOptions& options);

// The whole request ReadRequest made ready; the connection is then answering it.
IncomingRequest TakeRequest(Connection& connection);

// Frames `response` for the request being answered into `connection.out` (phase kWriting).
void PrepareResponse(Connection& connection, const http::Response& response);

enum class WriteResult {
  kDone,     // All written; the connection is ready for its next request (unless close_after).
  kBlocked,  // The socket is full: write again once it is writable.
  kFailed,   // The client is gone; close.
};

// Writes what is left of `connection.out` without blocking. On kDone the phase is back to kHead.
WriteResult WriteOut(Connection& connection);

// Reads what the socket holds without blocking, at most about `max_bytes`. False when the client
// closed or the connection failed before any byte came (`connection.closed` is then set); bytes
// read before the end of the client's stream are kept and true returned.
bool ReadAvailable(Connection& connection, size_t max_bytes);

}  // namespace larder::proxy::internal

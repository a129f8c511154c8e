#include "proxy/connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "proxy/response_writer.h"

namespace larder::proxy::internal {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

bool RefusesBody(const std::string& method) { return method == "GET" || method == "HEAD"; }

bool RefusedMethod(const std::string& method) {
  return method == "CONNECT" || method == "TRACE" || method == "PRI";
}

// The text of a refusal the parser decided.
std::string RefusalText(const Http1Error& error) {
  if (error.status == 413) return "request body too large\n";
  if (error.status == 431) return "request header fields too large\n";
  return error.message + "\n";
}

RequestStep Refuse(Connection& connection, int status, std::string text) {
  connection.close_after = true;
  connection.in.clear();
  http::Response response = PlainResponse(status, std::move(text));
  if (status == 405) response.headers.Add("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  PrepareResponse(connection, response);
  return RequestStep::kRefused;
}

RequestStep RefuseParsed(Connection& connection, const Http1Error& error,
                         const FrontEndOptions& options) {
  if (error.status == 413 && options.on_body_refused) options.on_body_refused();
  return Refuse(connection, error.status, RefusalText(error));
}

RequestStep ReadHead(Connection& connection, const FrontEndOptions& options) {
  const size_t end = connection.scanner.Scan(connection.in);
  if (end == 0) {
    if (static_cast<int64_t>(connection.scanner.scanned()) > options.limits.max_head_bytes) {
      return Refuse(connection, 431, "request header fields too large\n");
    }
    return RequestStep::kNeedMore;
  }
  connection.head = RequestHead();
  const Http1Error error = ParseRequestHead(absl::string_view(connection.in).substr(0, end),
                                            options.limits, connection.head);
  connection.in.erase(0, end);
  connection.scanner.Reset();
  if (!error.ok()) return RefuseParsed(connection, error, options);
  const RequestHead& head = connection.head;
  if (RefusedMethod(head.method)) return Refuse(connection, 405, "method not allowed\n");
  if (head.framing != BodyFraming::kNone && RefusesBody(head.method)) {
    return Refuse(connection, 400, "a " + head.method + " request must not carry a body\n");
  }
  if (!head.keep_alive) connection.close_after = true;
  connection.body.clear();
  if (head.framing == BodyFraming::kNone) return RequestStep::kReady;
  if (head.framing == BodyFraming::kChunked) connection.chunked.emplace(options.limits);
  if (head.expects_continue && connection.in.empty()) {
    static constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)!::send(connection.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
  }
  connection.phase = Phase::kBody;
  return RequestStep::kNeedMore;
}

RequestStep ReadBody(Connection& connection, const FrontEndOptions& options) {
  if (connection.chunked.has_value()) {
    const size_t used = connection.chunked->Feed(connection.in, connection.body);
    connection.in.erase(0, used);
    if (!connection.chunked->error().ok()) {
      return RefuseParsed(connection, connection.chunked->error(), options);
    }
    if (!connection.chunked->done()) return RequestStep::kNeedMore;
    connection.chunked.reset();
    return RequestStep::kReady;
  }
  const auto length = static_cast<size_t>(connection.head.content_length);
  const size_t taken = std::min(length - connection.body.size(), connection.in.size());
  connection.body.append(connection.in, 0, taken);
  connection.in.erase(0, taken);
  return connection.body.size() < length ? RequestStep::kNeedMore : RequestStep::kReady;
}

}  // namespace

RequestStep ReadRequest(Connection& connection, const FrontEndOptions& options) {
  if (connection.phase == Phase::kHead) {
    if (connection.in.empty()) return RequestStep::kNeedMore;
    const RequestStep step = ReadHead(connection, options);
    if (step != RequestStep::kNeedMore || connection.phase != Phase::kBody) return step;
  }
  if (connection.phase != Phase::kBody) return RequestStep::kNeedMore;
  return ReadBody(connection, options);
}

IncomingRequest TakeRequest(Connection& connection) {
  IncomingRequest request;
  request.method = connection.head.method;  // Kept: PrepareResponse needs to know a HEAD.
  request.target = std::move(connection.head.target);
  request.headers = std::move(connection.head.headers);
  request.body = std::move(connection.body);
  request.client_address = connection.peer;
  connection.phase = Phase::kAnswering;
  return request;
}

void PrepareResponse(Connection& connection, const http::Response& response) {
  ResponseFraming framing;
  framing.head_request = connection.head.method == "HEAD";
  framing.close = connection.close_after;
  framing.http10_keep_alive = !connection.close_after && connection.head.minor_version == 0;
  connection.out.clear();
  connection.out_sent = 0;
  AppendResponse(response, framing, connection.out);
  connection.phase = Phase::kWriting;
}

WriteResult WriteOut(Connection& connection) {
  while (connection.out_sent < connection.out.size()) {
    const ssize_t sent = ::send(connection.fd, connection.out.data() + connection.out_sent,
                                connection.out.size() - connection.out_sent, MSG_NOSIGNAL);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WriteResult::kBlocked;
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      connection.closed = true;
      return WriteResult::kFailed;
    }
    connection.out_sent += static_cast<size_t>(sent);
  }
  connection.last_active = absl::Now();
  connection.out.clear();
  connection.out_sent = 0;
  connection.phase = Phase::kHead;
  connection.request_started =
      connection.in.empty() ? absl::InfiniteFuture() : connection.last_active;
  return WriteResult::kDone;
}

bool ReadAvailable(Connection& connection, size_t max_bytes) {
  char buffer[kReadChunk];
  size_t total = 0;
  while (total < max_bytes) {
    const ssize_t got = ::recv(connection.fd, buffer, sizeof(buffer), 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (got < 0 && errno == EINTR) continue;
    // The end of the client's stream after bytes of this call: they are served first (a client
    // may half-close after its request); the next read finds the end again.
    if (got == 0 && total > 0) break;
    if (got <= 0) {
      connection.closed = true;
      return false;
    }
    connection.last_active = absl::Now();
    if (connection.request_started == absl::InfiniteFuture()) {
      connection.request_started = connection.last_active;
    }
    connection.in.append(buffer, static_cast<size_t>(got));
    total += static_cast<size_t>(got);
    if (static_cast<size_t>(got) < sizeof(buffer)) break;
  }
  return true;
}

}  // namespace larder::proxy::internal

// RawHttpClient: a blocking TCP client of 127.0.0.1 for tests of larder-proxy's front end, that
// sends exactly the bytes it is given (half a head, a chunk at a time, two pipelined requests)
// and reads responses back as the server framed them: by Content-Length, or until the close.
// Every wait is bounded, so a server that never answers fails the test instead of hanging it.
//
//   RawHttpClient client(port);
//   client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
//   std::optional<RawResponse> response = client.Read();
//   EXPECT_TRUE(client.WaitClosed(absl::Seconds(2)));
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "larder/http/headers.h"

namespace larder::proxy::testing {

struct RawResponse {
  int status = 0;
  // The status line as received, without its CRLF: "HTTP/1.1 200 OK".
  std::string status_line;
  http::Headers headers;
  std::string body;
};

class RawHttpClient {
 public:
  // Connects to 127.0.0.1:`port`; connected() says whether that worked. Each Read waits at most
  // `timeout` for the bytes it needs.
  explicit RawHttpClient(int port, absl::Duration timeout = absl::Seconds(5)) : timeout_(timeout) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 &&
        connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ >= 0) {
      const int yes = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    }
  }
  ~RawHttpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Ends the sending half (shutdown SHUT_WR): the server reads the end of the stream after what
  // was sent; responses can still be read.
  bool ShutdownWrite() { return ::shutdown(fd_, SHUT_WR) == 0; }
  // Closes the connection now (the destructor does too).
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    closed_ = true;
  }
  int fd() const { return fd_; }
  // Bytes received and not consumed by a Read.
  const std::string& pending() const { return buffer_; }

  // Sends all of `bytes`; false when the connection failed.
  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // The next response (a 1xx one included). Its body is Content-Length bytes, none for 1xx, 204,
  // 304 and when `head_request`, and otherwise everything until the server closes. nullopt when
  // the connection closed or failed, or the timeout passed, before the response was whole.
  std::optional<RawResponse> Read(bool head_request = false) {
    const absl::Time deadline = absl::Now() + timeout_;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (Receive(deadline) <= 0) return std::nullopt;
    }
    RawResponse response;
    std::vector<std::string> lines =
        absl::StrSplit(absl::string_view(buffer_).substr(0, head_end), "\r\n");
    response.status_line = lines[0];
    std::vector<absl::string_view> parts = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &response.status)) return std::nullopt;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) return std::nullopt;
      response.headers.Add(
          lines[i].substr(0, colon),
          absl::StripAsciiWhitespace(absl::string_view(lines[i]).substr(colon + 1)));
    }
    const size_t body_start = head_end + 4;
    const bool bodiless =
        head_request || response.status < 200 || response.status == 204 || response.status == 304;
    std::optional<std::string> length = response.headers.Get("Content-Length");
    size_t body_length = 0;
    if (!bodiless && length.has_value()) {
      if (!absl::SimpleAtoi(*length, &body_length)) return std::nullopt;
    } else if (!bodiless) {
      while (Receive(deadline) > 0) {
      }
      if (!closed_) return std::nullopt;
      body_length = buffer_.size() - body_start;
    }
    while (buffer_.size() < body_start + body_length) {
      if (Receive(deadline) <= 0) return std::nullopt;
    }
    response.body = buffer_.substr(body_start, body_length);
    buffer_.erase(0, body_start + body_length);
    return response;
  }

  // True when the server closes the connection (an end of stream or a reset) within `timeout`;
  // bytes received meanwhile are kept in pending().
  bool WaitClosed(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (Receive(deadline) > 0) {
    }
    return closed_;
  }

 private:
  // Appends what arrives before `deadline` to buffer_: > 0 bytes received, 0 the connection
  // closed (closed_ set), -1 timed out or failed.
  int Receive(absl::Time deadline) {
    if (closed_) return 0;
    while (true) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return -1;
      pollfd watched{fd_, POLLIN, 0};
      const int ready = poll(&watched, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return -1;
      char chunk[16 * 1024];
      const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got == 0 || (got < 0 && errno == ECONNRESET)) {
        closed_ = true;
        return 0;
      }
      if (got < 0) return -1;
      buffer_.append(chunk, static_cast<size_t>(got));
      return 1;
    }
  }

  absl::Duration timeout_;
  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

}  // namespace larder::proxy::testing

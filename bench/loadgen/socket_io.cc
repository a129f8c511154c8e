#include "bench/loadgen/socket_io.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace larder::bench {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<int> ConnectTo(const std::string& target, int epoll_fd, void* data) {
  const size_t colon = target.rfind(':');
  const std::string host = target.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : target.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (colon == std::string::npos || getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("target: cannot resolve ", target));
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int connected = fd < 0 ? -1 : ::connect(fd, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (connected != 0) {
    absl::Status status = Errno(absl::StrCat("connect to ", target));
    if (fd >= 0) ::close(fd);
    return status;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = data;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    absl::Status status = Errno("epoll");
    ::close(fd);
    return status;
  }
  return fd;
}

absl::Status WriteAll(int fd, absl::string_view data, int timeout_ms) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written > 0) {
      data.remove_prefix(static_cast<size_t>(written));
      continue;
    }
    if (written < 0 && errno != EAGAIN && errno != EINTR) return Errno("write");
    pollfd waiting{fd, POLLOUT, 0};
    if (::poll(&waiting, 1, timeout_ms) <= 0) return absl::UnavailableError("write timed out");
  }
  return absl::OkStatus();
}

absl::Status WaitReadable(int epoll_fd, int64_t timeout_nanos,
                          absl::FunctionRef<absl::Status(void* tag)> on_readable) {
  epoll_event events[64];
  timespec timeout{timeout_nanos / 1000000000, timeout_nanos % 1000000000};
  const int ready = ::epoll_pwait2(epoll_fd, events, 64, &timeout, nullptr);
  if (ready < 0 && errno != EINTR) return Errno("epoll_pwait2");
  for (int i = 0; i < ready; ++i) {
    if (absl::Status status = on_readable(events[i].data.ptr); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadAvailable(int fd, std::string& in, absl::string_view peer) {
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got > 0) {
      in.append(buffer, static_cast<size_t>(got));
      if (static_cast<size_t>(got) < sizeof(buffer)) return absl::OkStatus();  // Drained.
      continue;
    }
    if (got == 0) return absl::UnavailableError(absl::StrCat(peer, " closed the connection"));
    if (errno == EAGAIN) return absl::OkStatus();
    if (errno != EINTR) return Errno("read");
  }
}

}  // namespace larder::bench

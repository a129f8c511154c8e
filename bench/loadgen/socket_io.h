// The load generator's socket plumbing, shared by the drivers that speak their protocol by hand
// (RESP: RedisDriver; HTTP/2: H2Driver): a non-blocking loopback TCP connection watched by an
// epoll set, whole writes, reads of what has arrived, and system-call errors as kUnavailable.
//
//   absl::StatusOr<int> fd = ConnectTo("127.0.0.1:6379", epoll_fd, &connection);
//   WriteAll(*fd, bytes, /*timeout_ms=*/1000);
//   ReadAvailable(*fd, buffer, "redis");
//   WaitReadable(epoll_fd, timeout_nanos, [](void* tag) { ...; return absl::OkStatus(); });
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace larder::bench {

// kUnavailable "`what`: <strerror(errno)>".
absl::Status Errno(absl::string_view what);

// A TCP connection to `target` (host:port), non-blocking, with TCP_NODELAY, added to `epoll_fd`
// for reading with `data` as its tag. The caller closes the descriptor.
absl::StatusOr<int> ConnectTo(const std::string& target, int epoll_fd, void* data);

// Writes all of `data` to a non-blocking socket, waiting up to `timeout_ms` for room each time
// it is full.
absl::Status WriteAll(int fd, absl::string_view data, int timeout_ms);

// Waits up to `timeout_nanos` for sockets of `epoll_fd` to be readable and calls `on_readable`
// with the tag of each; stops at the first error it returns.
absl::Status WaitReadable(int epoll_fd, int64_t timeout_nanos,
                          absl::FunctionRef<absl::Status(void* tag)> on_readable);

// Appends what the socket holds now to `in`. kUnavailable when `peer` closed the connection.
absl::Status ReadAvailable(int fd, std::string& in, absl::string_view peer);

}  // namespace larder::bench

#include "bench/loadgen/redis_driver.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/socket_io.h"

namespace larder::bench {

RedisDriver::RedisDriver(const LoadOptions& options)
    : options_(options),
      chooser_(options.keys, options.distribution, options.zipf_s),
      values_(options.value_size) {}

RedisDriver::~RedisDriver() {
  for (auto& connection : connections_) {
    if (connection->fd >= 0) ::close(connection->fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

absl::StatusOr<std::unique_ptr<RedisDriver>> RedisDriver::Create(const LoadOptions& options) {
  auto driver = std::unique_ptr<RedisDriver>(new RedisDriver(options));
  driver->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (driver->epoll_fd_ < 0) return Errno("epoll_create1");
  for (int i = 0; i < std::max(1, options.inflight); ++i) {
    auto connection = std::make_unique<Connection>();
    connection->rng.seed(0x5eed0000u + i);
    if (absl::Status status = driver->Connect(*connection); !status.ok()) return status;
    driver->connections_.push_back(std::move(connection));
  }
  return driver;
}

absl::Status RedisDriver::Connect(Connection& connection) {
  absl::StatusOr<int> fd = ConnectTo(options_.target, epoll_fd_, &connection);
  if (!fd.ok()) return fd.status();
  connection.fd = *fd;
  return absl::OkStatus();
}

absl::Status RedisDriver::RoundTrip(Connection& connection, ReplySummary& summary) {
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.timeout));
  if (absl::Status status = WriteAll(connection.fd, connection.out, timeout_ms); !status.ok()) {
    return status;
  }
  connection.in.clear();
  for (;;) {
    pollfd waiting{connection.fd, POLLIN, 0};
    if (::poll(&waiting, 1, timeout_ms) <= 0) return absl::UnavailableError("reply timed out");
    if (absl::Status status = ReadAvailable(connection.fd, connection.in, "redis"); !status.ok()) {
      return status;
    }
    const int64_t used = ParseReply(connection.in, summary);
    if (used < 0) return absl::InternalError("redis sent something that is not RESP");
    if (used > 0) return absl::OkStatus();
  }
}

absl::Status RedisDriver::Preload() {
  Connection& connection = *connections_.front();
  const uint64_t batch = std::max(1, options_.preload_batch);
  for (uint64_t first = 0; first < options_.preload_keys; first += batch) {
    const uint64_t end = std::min(first + batch, options_.preload_keys);
    std::vector<std::string> keys;
    std::vector<absl::string_view> args = {"MSET"};
    for (uint64_t id = first; id < end; ++id) keys.push_back(KeyName(id));
    for (uint64_t id = first; id < end; ++id) {
      args.push_back(keys[id - first]);
      args.push_back(values_.ValueFor(id));
    }
    connection.out.clear();
    AppendCommand(connection.out, args);
    ReplySummary summary;
    if (absl::Status status = RoundTrip(connection, summary); !status.ok()) return status;
    if (summary.error) return absl::UnavailableError("preload: MSET failed");
  }
  connection.in.clear();
  return absl::OkStatus();
}

absl::Status RedisDriver::Send(Connection& connection, int64_t start_nanos) {
  const bool write = options_.read_ratio < 1.0 && std::uniform_real_distribution<double>(
                                                      0, 1)(connection.rng) >= options_.read_ratio;
  std::vector<std::string> keys;
  std::vector<absl::string_view> args;
  connection.out.clear();
  if (write) {
    const uint64_t id = chooser_.Next(connection.rng);
    keys.push_back(KeyName(id));
    args = {"SET", keys[0], values_.ValueFor(id)};
  } else {
    const int count = options_.operation == Operation::kGet ? 1 : options_.batch;
    for (int i = 0; i < count; ++i) keys.push_back(KeyName(chooser_.Next(connection.rng)));
    args.push_back(options_.operation == Operation::kGet ? "GET" : "MGET");
    args.insert(args.end(), keys.begin(), keys.end());
  }
  AppendCommand(connection.out, args);
  connection.start_nanos = start_nanos;
  connection.keys = static_cast<int64_t>(keys.size());
  return WriteAll(connection.fd, connection.out,
                  static_cast<int>(absl::ToInt64Milliseconds(options_.timeout)));
}

absl::Status RedisDriver::Complete(Connection& connection, const ReplySummary& summary,
                                   Loop& loop) {
  if (loop.Finish(connection, connection.start_nanos, connection.keys, !summary.error,
                  summary.nils)) {
    return Send(connection, loop.last_done());
  }
  return absl::OkStatus();
}

absl::Status RedisDriver::OnReadable(Connection& connection, Loop& loop) {
  if (absl::Status status = ReadAvailable(connection.fd, connection.in, "redis"); !status.ok()) {
    return status;
  }
  ReplySummary summary;
  const int64_t used = ParseReply(connection.in, summary);
  if (used < 0) return absl::InternalError("redis sent something that is not RESP");
  if (used == 0) return absl::OkStatus();
  connection.in.erase(0, static_cast<size_t>(used));
  return Complete(connection, summary, loop);
}

absl::StatusOr<PhaseResult> RedisDriver::RunPhase(const PhaseSpec& phase,
                                                  LatencyHistogram& histogram) {
  Loop loop(phase, histogram);
  std::vector<Connection*> connections;
  for (auto& connection : connections_) {
    connection->in.clear();
    connections.push_back(connection.get());
  }
  return loop.Run(
      connections, options_.timeout,
      [this](Connection& connection, int64_t start_nanos) { return Send(connection, start_nanos); },
      [] { return absl::OkStatus(); },  // Send writes at once.
      [this, &loop](int64_t timeout_nanos) {
        return WaitReadable(epoll_fd_, timeout_nanos, [this, &loop](void* connection) {
          return OnReadable(*static_cast<Connection*>(connection), loop);
        });
      });
}

}  // namespace larder::bench

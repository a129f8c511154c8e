#include "bench/loadgen/redis_driver.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/socket_io.h"

namespace larder::bench {

struct RedisDriver::PhaseState {
  PhaseState(const PhaseSpec& phase, LatencyHistogram& latencies)
      : spec(phase), histogram(latencies) {}

  const PhaseSpec& spec;
  LatencyHistogram& histogram;
  PhaseResult result;
  int64_t start = 0;
  int64_t budget = 0;
  int64_t sent = 0;  // Open loop: requests handed out so far.
  bool stopping = false;
  int active = 0;
  int64_t last_done = 0;
  std::vector<Connection*> idle;

  bool TakeBudget() { return budget > 0 && budget-- > 0; }
};

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

absl::Status RedisDriver::Send(Connection& connection, int64_t start_nanos, PhaseState& state) {
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
  ++state.active;
  return WriteAll(connection.fd, connection.out,
                  static_cast<int>(absl::ToInt64Milliseconds(options_.timeout)));
}

absl::Status RedisDriver::Complete(Connection& connection, const ReplySummary& summary,
                                   PhaseState& state) {
  const int64_t now = NowNanos();
  if (state.spec.record) {
    state.histogram.Record(now - connection.start_nanos);
    ++state.result.ops;
    state.result.keys += connection.keys;
    state.result.errors += summary.error ? 1 : 0;
    state.result.misses += summary.nils;
  }
  state.last_done = now;
  --state.active;
  if (state.spec.rate > 0) {
    state.idle.push_back(&connection);
    return absl::OkStatus();
  }
  if (!state.stopping && state.TakeBudget()) return Send(connection, now, state);
  return absl::OkStatus();
}

absl::Status RedisDriver::OnReadable(Connection& connection, PhaseState& state) {
  if (absl::Status status = ReadAvailable(connection.fd, connection.in, "redis"); !status.ok()) {
    return status;
  }
  ReplySummary summary;
  const int64_t used = ParseReply(connection.in, summary);
  if (used < 0) return absl::InternalError("redis sent something that is not RESP");
  if (used == 0) return absl::OkStatus();
  connection.in.erase(0, static_cast<size_t>(used));
  return Complete(connection, summary, state);
}

absl::Status RedisDriver::Poll(PhaseState& state, int64_t timeout_nanos) {
  epoll_event events[64];
  timespec timeout{timeout_nanos / 1000000000, timeout_nanos % 1000000000};
  const int ready = ::epoll_pwait2(epoll_fd_, events, 64, &timeout, nullptr);
  if (ready < 0 && errno != EINTR) return Errno("epoll_pwait2");
  for (int i = 0; i < ready; ++i) {
    auto* connection = static_cast<Connection*>(events[i].data.ptr);
    if (absl::Status status = OnReadable(*connection, state); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status RedisDriver::PaceOpenLoop(PhaseState& state, int64_t now) {
  const double interval = 1e9 / state.spec.rate;
  for (;;) {
    const int64_t intended =
        state.start + static_cast<int64_t>(interval * static_cast<double>(state.sent));
    if (intended > now || state.idle.empty()) return absl::OkStatus();
    if (!state.TakeBudget()) {
      state.stopping = true;
      return absl::OkStatus();
    }
    Connection* connection = state.idle.back();
    state.idle.pop_back();
    ++state.sent;
    // Latency counts from the intended start: no coordinated omission.
    if (absl::Status status = Send(*connection, intended, state); !status.ok()) return status;
  }
}

absl::StatusOr<PhaseResult> RedisDriver::RunPhase(const PhaseSpec& phase,
                                                  LatencyHistogram& histogram) {
  PhaseState state(phase, histogram);
  state.budget = phase.max_ops > 0 ? phase.max_ops : std::numeric_limits<int64_t>::max();
  state.start = state.last_done = NowNanos();
  const int64_t deadline = state.start + absl::ToInt64Nanoseconds(phase.duration);
  const int64_t hard_stop = deadline + absl::ToInt64Nanoseconds(options_.timeout);
  for (auto& connection : connections_) {
    connection->in.clear();
    if (phase.rate > 0) {
      state.idle.push_back(connection.get());
    } else if (state.TakeBudget()) {
      if (absl::Status status = Send(*connection, state.start, state); !status.ok()) return status;
    }
  }
  for (;;) {
    const int64_t now = NowNanos();
    if (now >= deadline) state.stopping = true;
    if (phase.rate > 0 && !state.stopping) {
      if (absl::Status status = PaceOpenLoop(state, now); !status.ok()) return status;
    }
    if (state.active == 0 && (state.stopping || state.budget <= 0)) break;
    if (now > hard_stop) return absl::DeadlineExceededError("redis replies still outstanding");
    int64_t wait = state.stopping ? 10'000'000 : std::min<int64_t>(deadline - now, 100'000'000);
    if (phase.rate > 0 && !state.stopping && !state.idle.empty()) {  // Else a reply wakes us.
      const int64_t next =
          state.start + static_cast<int64_t>(1e9 / phase.rate * static_cast<double>(state.sent));
      wait = std::min(wait, next - now);
    }
    if (absl::Status status = Poll(state, std::max<int64_t>(wait, 0)); !status.ok()) return status;
  }
  state.result.seconds = static_cast<double>(state.last_done - state.start) / 1e9;
  return state.result;
}

}  // namespace larder::bench

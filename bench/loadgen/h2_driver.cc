#include "bench/loadgen/h2_driver.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/grpc_driver.h"
#include "bench/loadgen/h2_wire.h"
#include "bench/loadgen/socket_io.h"
#include "larder/v1/cache.pb.h"

namespace larder::bench {

namespace {

constexpr uint32_t kStreamWindow = 1u << 24;      // Any one response fits.
constexpr uint32_t kConnectionWindow = 1u << 30;  // Given back every kWindowRefill bytes.
constexpr uint64_t kWindowRefill = 1u << 28;

// Misses in a `Response` message; -1 when `message` is not one.
template <typename Response>
int64_t CountMisses(absl::string_view message) {
  Response response;
  if (!response.ParseFromArray(message.data(), static_cast<int>(message.size()))) return -1;
  if constexpr (std::is_same_v<Response, v1::GetResponse>) return response.found() ? 0 : 1;
  if constexpr (std::is_same_v<Response, v1::MultiGetResponse>) {
    int64_t misses = 0;
    for (const v1::GetResponse& result : response.results()) misses += !result.found();
    return misses;
  }
  return 0;
}

}  // namespace

H2Driver::H2Driver(const LoadOptions& options)
    : options_(options),
      chooser_(options.keys, options.distribution, options.zipf_s),
      values_(options.value_size) {
  const int64_t timeout_seconds = std::max<int64_t>(1, absl::ToInt64Seconds(options.timeout));
  get_headers_ = RequestHeaders("/larder.v1.Cache/Get", options.target, timeout_seconds);
  multi_get_headers_ = RequestHeaders("/larder.v1.Cache/MultiGet", options.target, timeout_seconds);
  set_headers_ = RequestHeaders("/larder.v1.Cache/Set", options.target, timeout_seconds);
}

H2Driver::~H2Driver() {
  for (auto& connection : connections_) {
    if (connection->fd >= 0) ::close(connection->fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

absl::StatusOr<std::unique_ptr<H2Driver>> H2Driver::Create(const LoadOptions& options) {
  auto driver = std::unique_ptr<H2Driver>(new H2Driver(options));
  driver->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (driver->epoll_fd_ < 0) return Errno("epoll_create1");
  const int channels = std::max(1, options.channels);
  for (int i = 0; i < channels; ++i) {
    auto connection = std::make_unique<Connection>();
    if (absl::Status status = driver->Connect(*connection); !status.ok()) return status;
    driver->connections_.push_back(std::move(connection));
  }
  const int inflight = std::max(1, options.inflight);
  for (int i = 0; i < inflight; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->connection = driver->connections_[i % channels].get();
    slot->rng.seed(0x5eed0000u + i);
    driver->slots_.push_back(std::move(slot));
  }
  const uint32_t per_connection = static_cast<uint32_t>((inflight + channels - 1) / channels);
  for (auto& connection : driver->connections_) {
    if (connection->max_streams < per_connection) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inflight: ", per_connection, " calls per connection, larderd allows ",
          connection->max_streams, " (SETTINGS_MAX_CONCURRENT_STREAMS); add --channels"));
    }
  }
  return driver;
}

absl::Status H2Driver::Connect(Connection& connection) {
  absl::StatusOr<int> fd = ConnectTo(options_.target, epoll_fd_, &connection);
  if (!fd.ok()) return fd.status();
  connection.fd = *fd;
  return Handshake(connection);
}

// Sends the preface and waits for the server's first SETTINGS, which it acknowledges.
absl::Status H2Driver::Handshake(Connection& connection) {
  connection.out = ClientPreface(kStreamWindow, kConnectionWindow);
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.timeout));
  if (absl::Status status = Flush(connection); !status.ok()) return status;
  for (;;) {
    pollfd waiting{connection.fd, POLLIN, 0};
    if (::poll(&waiting, 1, timeout_ms) <= 0) return absl::UnavailableError("no HTTP/2 SETTINGS");
    if (absl::Status status = ReadAvailable(connection.fd, connection.in, "larderd");
        !status.ok()) {
      return status;
    }
    H2Frame frame;
    const int64_t used = NextFrame(connection.in, frame);
    if (used < 0 || (used > 0 && frame.type != static_cast<uint8_t>(H2Type::kSettings))) {
      return absl::UnavailableError(absl::StrCat(options_.target, " does not speak HTTP/2"));
    }
    if (used == 0) continue;
    connection.max_streams =
        SettingValue(frame.payload, kH2SettingMaxConcurrentStreams, connection.max_streams);
    connection.in.erase(0, static_cast<size_t>(used));
    AppendFrameHeader(connection.out, 0, H2Type::kSettings, kH2Ack, 0);
    return Flush(connection);
  }
}

absl::Status H2Driver::Preload() {
  absl::StatusOr<std::unique_ptr<GrpcDriver>> loader = GrpcDriver::Create(options_);
  if (!loader.ok()) return loader.status();
  return (*loader)->Preload();
}

void H2Driver::Issue(Slot& slot, int64_t start_nanos) {
  const bool write = options_.read_ratio < 1.0 &&
                     std::uniform_real_distribution<double>(0, 1)(slot.rng) >= options_.read_ratio;
  if (write) {
    const uint64_t id = chooser_.Next(slot.rng);
    v1::SetRequest request;
    request.set_namespace_(options_.ns);
    request.set_key(KeyName(id));
    request.set_value(std::string(values_.ValueFor(id)));
    request.SerializeToString(&slot.request);
    slot.kind = Kind::kSet;
    slot.keys = 1;
  } else if (options_.operation == Operation::kGet) {
    v1::GetRequest request;
    request.set_namespace_(options_.ns);
    request.set_key(KeyName(chooser_.Next(slot.rng)));
    request.SerializeToString(&slot.request);
    slot.kind = Kind::kGet;
    slot.keys = 1;
  } else {
    v1::MultiGetRequest request;
    request.set_namespace_(options_.ns);
    for (int i = 0; i < options_.batch; ++i) request.add_keys(KeyName(chooser_.Next(slot.rng)));
    request.SerializeToString(&slot.request);
    slot.kind = Kind::kMultiGet;
    slot.keys = options_.batch;
  }
  slot.start_nanos = start_nanos;
  Connection& connection = *slot.connection;
  if (!connection.waiting_for_window.empty() || connection.send_window < slot.data_bytes()) {
    connection.waiting_for_window.push_back(&slot);
    return;
  }
  StartStream(slot);
}

// Appends the call's frames to its connection's output; Flush sends them.
void H2Driver::StartStream(Slot& slot) {
  Connection& connection = *slot.connection;
  const uint32_t stream_id = connection.next_stream_id;
  connection.next_stream_id += 2;
  const std::string& headers = slot.kind == Kind::kGet        ? get_headers_
                               : slot.kind == Kind::kMultiGet ? multi_get_headers_
                                                              : set_headers_;
  AppendUnaryCall(connection.out, stream_id, headers, slot.request);
  connection.send_window -= slot.data_bytes();
  slot.data.clear();
  connection.streams[stream_id] = &slot;
}

absl::Status H2Driver::Flush(Connection& connection) {
  if (connection.out.empty()) return absl::OkStatus();
  absl::Status status = WriteAll(connection.fd, connection.out,
                                 static_cast<int>(absl::ToInt64Milliseconds(options_.timeout)));
  connection.out.clear();
  return status;
}

void H2Driver::EndStream(Connection& connection, uint32_t stream_id, bool reset, Loop& loop) {
  auto found = connection.streams.find(stream_id);
  if (found == connection.streams.end()) return;
  Slot& slot = *found->second;
  connection.streams.erase(found);
  absl::string_view message;
  int64_t misses = -1;
  if (!reset && UnwrapGrpcMessage(slot.data, message)) {
    misses = slot.kind == Kind::kGet        ? CountMisses<v1::GetResponse>(message)
             : slot.kind == Kind::kMultiGet ? CountMisses<v1::MultiGetResponse>(message)
                                            : CountMisses<v1::SetResponse>(message);
  }
  const bool ok = misses >= 0;
  if (loop.Finish(slot, slot.start_nanos, slot.keys, ok, ok ? misses : 0)) {
    Issue(slot, loop.last_done());
  }
}

absl::Status H2Driver::OnFrame(Connection& connection, const H2Frame& frame, Loop& loop) {
  absl::string_view content;
  switch (static_cast<H2Type>(frame.type)) {
    case H2Type::kData:
      connection.received_unacknowledged += frame.payload.size();
      if (!StripPadding(frame, content)) return absl::InternalError("bad DATA padding");
      if (auto slot = connection.streams.find(frame.stream_id); slot != connection.streams.end())
        slot->second->data.append(content.data(), content.size());
      if (frame.flags & kH2EndStream) EndStream(connection, frame.stream_id, false, loop);
      return absl::OkStatus();
    case H2Type::kHeaders:
      if (frame.flags & kH2EndStream) EndStream(connection, frame.stream_id, false, loop);
      return absl::OkStatus();
    case H2Type::kRstStream:
      EndStream(connection, frame.stream_id, true, loop);
      return absl::OkStatus();
    case H2Type::kSettings:
      if (!(frame.flags & kH2Ack))
        AppendFrameHeader(connection.out, 0, H2Type::kSettings, kH2Ack, 0);
      return absl::OkStatus();
    case H2Type::kPing:
      if (!(frame.flags & kH2Ack)) {
        AppendFrameHeader(connection.out, 8, H2Type::kPing, kH2Ack, 0);
        connection.out.append(frame.payload.data(), frame.payload.size());
      }
      return absl::OkStatus();
    case H2Type::kGoaway:
      return absl::UnavailableError("larderd sent GOAWAY");
    case H2Type::kWindowUpdate:
      if (frame.stream_id == 0) connection.send_window += WindowIncrement(frame.payload);
      return absl::OkStatus();
    default:  // CONTINUATION and the rest carry nothing a unary call's end depends on.
      return absl::OkStatus();
  }
}

absl::Status H2Driver::OnReadable(Connection& connection, Loop& loop) {
  if (absl::Status status = ReadAvailable(connection.fd, connection.in, "larderd"); !status.ok()) {
    return status;
  }
  absl::string_view rest = connection.in;
  for (;;) {
    H2Frame frame;
    const int64_t used = NextFrame(rest, frame);
    if (used < 0) return absl::InternalError("larderd sent a frame over 16 MiB");
    if (used == 0) break;
    if (absl::Status status = OnFrame(connection, frame, loop); !status.ok()) return status;
    rest.remove_prefix(static_cast<size_t>(used));
  }
  connection.in.erase(0, connection.in.size() - rest.size());
  while (!connection.waiting_for_window.empty() &&
         connection.send_window >= connection.waiting_for_window.front()->data_bytes()) {
    StartStream(*connection.waiting_for_window.front());
    connection.waiting_for_window.pop_front();
  }
  if (connection.received_unacknowledged >= kWindowRefill) {
    AppendWindowUpdate(connection.out, 0,
                       static_cast<uint32_t>(connection.received_unacknowledged));
    connection.received_unacknowledged = 0;
  }
  return Flush(connection);
}

absl::StatusOr<PhaseResult> H2Driver::RunPhase(const PhaseSpec& phase,
                                               LatencyHistogram& histogram) {
  Loop loop(phase, histogram);
  std::vector<Slot*> slots;
  for (auto& slot : slots_) slots.push_back(slot.get());
  return loop.Run(
      slots, options_.timeout,
      [this](Slot& slot, int64_t start_nanos) {
        Issue(slot, start_nanos);
        return absl::OkStatus();
      },
      [this] {
        for (auto& connection : connections_) {
          if (absl::Status status = Flush(*connection); !status.ok()) return status;
        }
        return absl::OkStatus();
      },
      [this, &loop](int64_t timeout_nanos) {
        return WaitReadable(epoll_fd_, timeout_nanos, [this, &loop](void* connection) {
          return OnReadable(*static_cast<Connection*>(connection), loop);
        });
      });
}

}  // namespace larder::bench

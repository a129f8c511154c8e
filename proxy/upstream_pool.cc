#include "proxy/upstream_pool.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "larder/common/clock.h"

namespace larder::proxy {
namespace {

std::string ErrorText(int error) {
  char buffer[128];
  return strerror_r(error, buffer, sizeof(buffer));  // The GNU variant returns the text.
}

// "" once `fd` (non-blocking) is connected to `address` within `timeout`, else why not.
std::string ConnectWithin(int fd, const addrinfo& address, absl::Duration timeout) {
  if (connect(fd, address.ai_addr, address.ai_addrlen) == 0) return "";
  if (errno != EINPROGRESS) return ErrorText(errno);
  pollfd polled{fd, POLLOUT, 0};
  const int ready = poll(&polled, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready == 0) return "connect timed out";
  if (ready < 0) return ErrorText(errno);
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return ErrorText(errno);
  return error == 0 ? "" : ErrorText(error);
}

void SetTimeouts(::httplib::Client& client, absl::Duration connect, absl::Duration remaining) {
  const auto split = [](absl::Duration d, auto set) {
    const int64_t micros = std::max<int64_t>(absl::ToInt64Microseconds(d), 1000);
    set(static_cast<time_t>(micros / 1000000), static_cast<time_t>(micros % 1000000));
  };
  split(std::min(connect, remaining),
        [&](time_t s, time_t us) { client.set_connection_timeout(s, us); });
  split(remaining, [&](time_t s, time_t us) { client.set_read_timeout(s, us); });
  split(remaining, [&](time_t s, time_t us) { client.set_write_timeout(s, us); });
}

http::Response ResponseOf(const ::httplib::Response& from, std::string body) {
  http::Response response;
  response.status = from.status;
  for (const auto& [name, value] : from.headers) response.headers.Add(name, value);
  RemoveHopByHop(response.headers);
  response.body = std::move(body);
  return response;
}

// The cpp-httplib request of `request`, with the upstream's authority as Host when the client
// sent none (HTTP/1.0).
::httplib::Request Outgoing(const UpstreamRequest& request, const HostPort& upstream) {
  ::httplib::Request out;
  out.method = request.method;
  out.path = request.target;
  for (const auto& [name, value] : request.headers.fields()) out.headers.emplace(name, value);
  if (!request.headers.Has("Host")) out.headers.emplace("Host", FormatHostPort(upstream));
  out.body = request.body;
  return out;
}

UpstreamFailure Classify(::httplib::Error error, bool too_large, bool timed_out) {
  if (too_large) return UpstreamFailure::kTooLarge;
  if (timed_out || error == ::httplib::Error::ConnectionTimeout) return UpstreamFailure::kTimeout;
  if (error == ::httplib::Error::Connection) return UpstreamFailure::kConnect;
  return UpstreamFailure::kProtocol;
}

// Methods that may be sent again when a reused connection turned out to be closed.
bool MaySendAgain(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

}  // namespace

// A Client checked out of the pool, returned when the lease ends.
class UpstreamPool::Lease {
 public:
  Lease(UpstreamPool& pool, std::unique_ptr<::httplib::Client> client)
      : pool_(pool), client_(std::move(client)) {}
  ~Lease() {
    if (client_ != nullptr) pool_.Return(std::move(client_));
  }
  ::httplib::Client* get() const { return client_.get(); }

 private:
  UpstreamPool& pool_;
  std::unique_ptr<::httplib::Client> client_;
};

// One exchange on one Client, and whether it failed before any response arrived.
struct UpstreamPool::Attempt {
  UpstreamResult result;
  bool before_response = false;
};

UpstreamPool::UpstreamPool(UpstreamPoolOptions options, ProxyMetrics* metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      log_limiter_(Clock::Real(), absl::Minutes(1)) {}

UpstreamPool::~UpstreamPool() = default;

bool UpstreamPool::SlotFree() const {
  return !idle_.empty() || created_ < options_.max_connections;
}

std::unique_ptr<::httplib::Client> UpstreamPool::NewClient() const {
  auto client = std::make_unique<::httplib::Client>(options_.upstream.host, options_.upstream.port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_decompress(false);  // Bodies pass byte for byte, Content-Encoding and all.
  client->set_url_encode(false);  // The target goes out as the client sent it.
  client->set_follow_location(false);
  return client;
}

std::unique_ptr<::httplib::Client> UpstreamPool::Checkout(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  if (!mutex_.AwaitWithDeadline(absl::Condition(this, &UpstreamPool::SlotFree), deadline)) {
    return nullptr;
  }
  if (!idle_.empty()) {
    std::unique_ptr<::httplib::Client> client = std::move(idle_.back());
    idle_.pop_back();
    return client;
  }
  ++created_;
  return NewClient();
}

void UpstreamPool::Return(std::unique_ptr<::httplib::Client> client) {
  absl::MutexLock lock(&mutex_);
  idle_.push_back(std::move(client));
}

UpstreamResult UpstreamPool::Send(const UpstreamRequest& request) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.timeout;
  for (int attempt = 0;; ++attempt) {
    Lease lease(*this, Checkout(deadline));
    if (lease.get() == nullptr) {
      UpstreamResult waited;
      waited.failure = UpstreamFailure::kTimeout;
      waited.detail = "no free upstream connection";
      waited.elapsed = absl::Now() - start;
      return waited;
    }
    const bool reused = lease.get()->is_socket_open() != 0;
    Attempt sent = Exchange(*lease.get(), request, deadline);
    if (attempt == 0 && reused && sent.before_response && MaySendAgain(request.method) &&
        absl::Now() < deadline) {
      continue;
    }
    sent.result.elapsed = absl::Now() - start;
    return std::move(sent.result);
  }
}

UpstreamPool::Attempt UpstreamPool::Exchange(::httplib::Client& client,
                                             const UpstreamRequest& request,
                                             absl::Time deadline) const {
  ::httplib::Request out = Outgoing(request, options_.upstream);
  const auto max_body = static_cast<uint64_t>(options_.max_response_body);
  bool too_large = false, past_deadline = false, not_modified = false;
  std::string body;
  out.response_handler = [&](const ::httplib::Response& response) {
    not_modified = response.status == 304;  // No body follows; stop before cpp-httplib waits.
    uint64_t length = 0;
    too_large =
        absl::SimpleAtoi(response.get_header_value("Content-Length"), &length) && length > max_body;
    return !not_modified && !too_large && response.status >= 200;
  };
  out.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    too_large = body.size() + size > max_body;
    past_deadline = absl::Now() > deadline;
    if (too_large || past_deadline) return false;
    body.append(data, size);
    return true;
  };
  SetTimeouts(client, options_.connect_timeout, deadline - absl::Now());
  ::httplib::Response response;
  ::httplib::Error error = ::httplib::Error::Success;
  Attempt attempt;
  if (client.send(out, response, error) || not_modified) {
    attempt.result.response = ResponseOf(response, std::move(body));
    return attempt;
  }
  attempt.result.detail = ::httplib::to_string(error);
  attempt.before_response = response.status == -1 &&
                            (error == ::httplib::Error::Read || error == ::httplib::Error::Write);
  // A read failing at the deadline is the read timeout cpp-httplib was given.
  const bool timed_out = past_deadline || (error == ::httplib::Error::Read &&
                                           absl::Now() >= deadline - absl::Milliseconds(10));
  attempt.result.failure = Classify(error, too_large, timed_out);
  return attempt;
}

http::Response UpstreamPool::Forward(const UpstreamRequest& request, absl::string_view route,
                                     UpstreamFailure* failure) {
  UpstreamResult result = Send(request);
  if (failure != nullptr) *failure = result.failure;
  if (metrics_ != nullptr) metrics_->ObserveUpstream(route, result.elapsed);
  if (result.failure == UpstreamFailure::kNone) return std::move(result.response);
  const absl::string_view reason = FailureReason(result.failure);
  if (metrics_ != nullptr) metrics_->CountUpstreamError(reason);
  if (std::optional<int64_t> suppressed = log_limiter_.Allow(reason)) {
    std::cerr << absl::StrCat("larder-proxy: upstream ", FormatHostPort(options_.upstream),
                              " failed (", reason, ": ", result.detail, ") after ",
                              absl::FormatDuration(result.elapsed), " for ", request.method, " ",
                              TargetPath(request.target).substr(0, 200),
                              *suppressed > 0 ? absl::StrCat("; ", *suppressed, " more since") : "")
              << std::endl;
  }
  return FailureResponse(result.failure);
}

absl::Status UpstreamPool::CheckConnect() const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string name = FormatHostPort(options_.upstream);
  const int resolved = getaddrinfo(options_.upstream.host.c_str(),
                                   std::to_string(options_.upstream.port).c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::UnavailableError(
        absl::StrCat("upstream ", name, " does not resolve: ", gai_strerror(resolved)));
  }
  std::string why = "no address";
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address->ai_protocol);
    if (fd < 0) {
      why = ErrorText(errno);
      continue;
    }
    why = ConnectWithin(fd, *address, options_.connect_timeout);
    close(fd);
    if (why.empty()) break;
  }
  freeaddrinfo(found);
  if (why.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("upstream ", name, " refused a connection: ", why));
}

}  // namespace larder::proxy

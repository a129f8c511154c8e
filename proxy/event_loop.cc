#include "proxy/event_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "proxy/connection.h"
#include "proxy/response_writer.h"

namespace larder::proxy::internal {
namespace {

// Tags of the loop's own descriptors in epoll_event.data.ptr (connections use their address).
char listen_tag;
char wake_tag;

constexpr int kMaxEvents = 128;
constexpr size_t kReadPerEvent = 64 * 1024;
constexpr int kAcceptsPerWake = 64;
// How long a worker that answered a request waits for the connection's next one before handing
// it back to the loop (Varnish's timeout_linger plays the same part), and how many it serves
// so. Lingering saves the loop-to-worker hand-off for back-to-back requests that go to workers.
constexpr int kLingerMs = 2;
constexpr int kMaxLingerRequests = 1000;

std::string PeerAddress(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text,
              sizeof(text));
  }
  return text;
}

bool WaitReadable(int fd, int timeout_ms) {
  pollfd poll_fd{fd, POLLIN, 0};
  return ::poll(&poll_fd, 1, timeout_ms) > 0;
}

}  // namespace

EventLoop::EventLoop(const FrontEndOptions& options, FrontEndApp& app, WorkerPool& workers,
                     FetchBatcher& batcher, int index, int listen_fd, std::atomic<int>& connections)
    : options_(options),
      app_(app),
      workers_(workers),
      listen_fd_(listen_fd),
      connections_(connections),
      batcher_(batcher),
      index_(index) {}

EventLoop::~EventLoop() {
  Quit();
  Join();
  for (Connection* connection : open_) {
    ::close(connection->fd);
    connections_.fetch_sub(1);
    delete connection;
  }
  for (Connection* connection : destroyed_) delete connection;
  absl::MutexLock lock(&mutex_);
  for (const auto& [fd, peer] : adopted_) {
    ::close(fd);
    connections_.fetch_sub(1);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool EventLoop::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return false;
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.ptr = &wake_tag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event) != 0) return false;
  if (listen_fd_ >= 0) {
    epoll_event listen_event{};
    listen_event.events = EPOLLIN;
    listen_event.data.ptr = &listen_tag;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0) return false;
  }
  thread_ = std::thread([this] { Run(); });
  return true;
}

void EventLoop::BeginStop() {
  absl::MutexLock lock(&mutex_);
  stop_requested_ = true;
  Wake();
}

void EventLoop::Quit() {
  quit_requested_.store(true);
  Wake();
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

void EventLoop::Adopt(int fd, std::string peer) {
  absl::MutexLock lock(&mutex_);
  adopted_.emplace_back(fd, std::move(peer));
  Wake();
}

void EventLoop::Deliver(std::vector<FetchBatcher::Item> items) {
  absl::MutexLock lock(&mutex_);
  for (FetchBatcher::Item& item : items) delivered_.push_back(std::move(item));
  Wake();
}

void EventLoop::HandBack(Connection& connection) {
  absl::MutexLock lock(&mutex_);
  handed_back_.push_back(&connection);
  Wake();
}

void EventLoop::Run() {
  epoll_event events[kMaxEvents];
  while (true) {
    const int ready = epoll_wait(epoll_fd_, events, kMaxEvents, 250);
    for (int i = 0; i < ready; ++i) HandleEvent(events[i].data.ptr);
    if (!parked_.empty()) {
      batcher_.Submit(std::move(parked_));
      parked_.clear();
    }
    // Connections destroyed while handling the batch are freed only now: a later event of the
    // same batch may still name one.
    for (Connection* connection : destroyed_) delete connection;
    destroyed_.clear();
    if (quit_requested_.load()) return;
    const absl::Time now = absl::Now();
    if (now - last_sweep_ >= absl::Seconds(1)) Sweep(now);
  }
}

void EventLoop::HandleEvent(void* tag) {
  if (tag == &listen_tag) return AcceptSome();
  if (tag == &wake_tag) return TakeWakeUps();
  Connection& connection = *static_cast<Connection*>(tag);
  if (connection.destroyed) return;
  // Put back in the set by a worker that has not let go yet: the event stays pending.
  if (connection.with_worker.load(std::memory_order_acquire)) return;
  // Parked: bytes or a hang-up wait until the answer (level-triggered, so out of the set).
  if (connection.awaiting_fetch) return Watch(connection, 0);
  if (connection.phase == Phase::kWriting) {  // Only EPOLLOUT is watched, but errors come too.
    // Requests the client sent before this response was written wait in the buffer.
    if (Finish(connection)) Serve(connection);
    return;
  }
  OnReadable(connection);
}

void EventLoop::AcceptSome() {
  for (int i = 0; i < kAcceptsPerWake && !stopping_.load(); ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: none is left.
    if (connections_.fetch_add(1) >= options_.max_connections) {
      connections_.fetch_sub(1);
      ::close(fd);
      continue;
    }
    const int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    EventLoop* owner = peers_.empty() ? this : peers_[next_peer_++ % peers_.size()];
    if (owner == this) {
      Open(fd, PeerAddress(address));
    } else {
      owner->Adopt(fd, PeerAddress(address));
    }
  }
}

void EventLoop::Open(int fd, std::string peer) {
  auto* connection = new Connection;
  connection->fd = fd;
  connection->peer = std::move(peer);
  connection->last_active = absl::Now();
  open_.insert(connection);
  if (stopping_.load()) connection->close_after = true;
  Watch(*connection, EPOLLIN);
}

void EventLoop::TakeWakeUps() {
  uint64_t count = 0;
  (void)!::read(wake_fd_, &count, sizeof(count));
  std::vector<Connection*> handed_back;
  std::vector<std::pair<int, std::string>> adopted;
  std::vector<FetchBatcher::Item> delivered;
  bool stop = false;
  {
    absl::MutexLock lock(&mutex_);
    handed_back.swap(handed_back_);
    adopted.swap(adopted_);
    delivered.swap(delivered_);
    stop = stop_requested_ && !stopping_.load();
  }
  for (auto& [fd, peer] : adopted) Open(fd, std::move(peer));
  for (Connection* connection : handed_back) TakeBack(*connection);
  for (FetchBatcher::Item& item : delivered) AnswerFetched(item);
  if (stop) BeginStopping();
}

// Stops accepting; closes idle connections and marks the others to close after their response
// (those with a worker see stopping_ themselves).
void EventLoop::BeginStopping() {
  stopping_.store(true);
  if (listen_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<Connection*> idle;
  for (Connection* connection : open_) {
    if (connection->with_worker.load(std::memory_order_acquire)) continue;
    connection->close_after = true;
    if (connection->phase == Phase::kHead && connection->in.empty() &&
        !connection->awaiting_fetch) {
      idle.push_back(connection);
    }
  }
  for (Connection* connection : idle) Destroy(*connection);
}

// Closes connections idle past idle_timeout, and those whose request (or response) has not
// moved for request_timeout.
void EventLoop::Sweep(absl::Time now) {
  last_sweep_ = now;
  std::vector<Connection*> expired;
  for (Connection* connection : open_) {
    if (connection->with_worker.load(std::memory_order_acquire) || connection->awaiting_fetch) {
      continue;  // Bounded by the worker's or the batch's own deadlines.
    }
    const bool idle = connection->phase == Phase::kHead && connection->in.empty();
    if (idle && (stopping_.load() || now - connection->last_active > options_.idle_timeout)) {
      expired.push_back(connection);
    } else if (!idle && (now - connection->request_started > options_.request_timeout ||
                         now - connection->last_active > options_.request_timeout)) {
      expired.push_back(connection);
    }
  }
  for (Connection* connection : expired) Destroy(*connection);
}

void EventLoop::OnReadable(Connection& connection) {
  if (!ReadAvailable(connection, kReadPerEvent)) return Destroy(connection);
  Serve(connection);
}

void EventLoop::Serve(Connection& connection) {
  while (true) {
    const RequestStep step = ReadRequest(connection, options_);
    if (step == RequestStep::kNeedMore) return Watch(connection, EPOLLIN);
    if (step == RequestStep::kRefused) {
      Finish(connection);
      return;
    }
    IncomingRequest request = TakeRequest(connection);
    std::optional<http::Response> answer = app_.AnswerAtOnce(request);
    if (!answer.has_value()) {
      if (Park(connection, request)) return;
      if (ToWorker(connection, std::move(request))) return;
      answer = PlainResponse(503, "proxy overloaded\n");
    }
    PrepareResponse(connection, *answer);
    if (!Finish(connection)) return;
  }
}

bool EventLoop::Finish(Connection& connection) {
  const WriteResult written = WriteOut(connection);
  if (written == WriteResult::kBlocked) {
    Watch(connection, EPOLLOUT);
    return false;
  }
  if (written == WriteResult::kFailed || connection.close_after) {
    Destroy(connection);
    return false;
  }
  return true;
}

bool EventLoop::Park(Connection& connection, IncomingRequest& request) {
  if (options_.max_batch_keys <= 0) return false;
  std::optional<BatchedRead> read = app_.FetchFor(request);
  if (!read.has_value()) return false;
  // It stays in the set: a connection that speaks while parked is taken out then (HandleEvent).
  connection.awaiting_fetch = true;
  parked_.push_back({index_, &connection, std::move(request), *std::move(read), std::nullopt});
  return true;
}

void EventLoop::AnswerFetched(FetchBatcher::Item& item) {
  Connection& connection = *item.connection;
  connection.awaiting_fetch = false;
  std::optional<http::Response> answer = app_.AnswerFetched(item.request, item.read, item.value);
  if (!answer.has_value()) {
    if (ToWorker(connection, std::move(item.request))) return;
    answer = PlainResponse(503, "proxy overloaded\n");
  }
  PrepareResponse(connection, *answer);
  if (Finish(connection)) Serve(connection);
}

bool EventLoop::ToWorker(Connection& connection, IncomingRequest request) {
  Watch(connection, 0);
  connection.with_worker.store(true, std::memory_order_release);
  Connection* owned = &connection;
  const bool queued = workers_.Submit([this, owned, request = std::move(request)]() mutable {
    AnswerOnWorker(*owned, std::move(request));
  });
  if (!queued) connection.with_worker.store(false, std::memory_order_release);
  return queued;
}

void EventLoop::AnswerOnWorker(Connection& connection, IncomingRequest request) {
  if (RespondOnWorker(connection, app_.Answer(std::move(request)))) Linger(connection);
  if (connection.closed || connection.close_after || connection.phase != Phase::kHead ||
      !connection.in.empty()) {
    return HandBack(connection);
  }
  // The usual case: answered, nothing waits in the buffer. Back in the set, to the loop, unless
  // a stop began: decided under the mutex, so BeginStopping either sees the connection back (and
  // closes it) or the worker sees the stop (and hands it back to be closed).
  {
    absl::MutexLock lock(&mutex_);
    if (!stop_requested_) {
      Watch(connection, EPOLLIN);
      connection.with_worker.store(false, std::memory_order_release);
      return;
    }
  }
  connection.close_after = true;
  HandBack(connection);
}

// On the worker: serves the connection's next requests while they come within kLingerMs and no
// other request waits for a worker. Returns when the connection needs the loop or went idle.
void EventLoop::Linger(Connection& connection) {
  for (int served = 0; served < kMaxLingerRequests; ++served) {
    if (connection.in.empty()) {
      if (workers_.queued() > 0 || stopping_.load() || !WaitReadable(connection.fd, kLingerMs) ||
          !ReadAvailable(connection, kReadPerEvent)) {
        return;
      }
    }
    const RequestStep step = ReadRequest(connection, options_);
    if (step == RequestStep::kNeedMore) return;  // The loop waits for the rest, with its timeouts.
    if (step == RequestStep::kRefused) {
      WriteOut(connection);
      return;
    }
    IncomingRequest request = TakeRequest(connection);
    std::optional<http::Response> answer = app_.AnswerAtOnce(request);
    if (!answer.has_value()) answer = app_.Answer(std::move(request));
    if (!RespondOnWorker(connection, *answer)) return;
  }
}

bool EventLoop::RespondOnWorker(Connection& connection, const http::Response& response) {
  if (stopping_.load()) connection.close_after = true;
  PrepareResponse(connection, response);
  return WriteOut(connection) == WriteResult::kDone && !connection.close_after;
}

void EventLoop::TakeBack(Connection& connection) {
  connection.with_worker.store(false, std::memory_order_relaxed);
  if (connection.closed) return Destroy(connection);
  if (connection.phase == Phase::kWriting) {
    if (Finish(connection)) Serve(connection);
    return;
  }
  if (connection.close_after) return Destroy(connection);
  Serve(connection);
}

void EventLoop::Watch(Connection& connection, uint32_t events) {
  if (connection.watched == events) return;
  epoll_event event{};
  event.events = events;
  event.data.ptr = &connection;
  if (events == 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
  } else {
    epoll_ctl(epoll_fd_, connection.watched == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, connection.fd,
              &event);
  }
  connection.watched = events;
}

void EventLoop::Destroy(Connection& connection) {
  if (connection.watched != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
  ::close(connection.fd);
  open_.erase(&connection);
  connections_.fetch_sub(1);
  connection.destroyed = true;
  destroyed_.push_back(&connection);
}

}  // namespace larder::proxy::internal

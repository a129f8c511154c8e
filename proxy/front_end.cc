#include "proxy/front_end.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proxy/event_loop.h"
#include "proxy/fetch_batcher.h"
#include "proxy/worker_pool.h"

namespace larder::proxy {

namespace internal {
struct FrontEndState {
  FrontEndOptions options;
  std::atomic<int> connections{0};
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<FetchBatcher> batcher;
  std::vector<std::unique_ptr<EventLoop>> loops;
};
}  // namespace internal

namespace {

// A listening, non-blocking socket on host:port, or -1.
int Listen(const std::string& host, int port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    return -1;
  }
  int fd = -1;
  for (addrinfo* info = found; info != nullptr && fd < 0; info = info->ai_next) {
    fd = socket(info->ai_family, info->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, info->ai_addr, info->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

int LoopCount(int requested) {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, 16);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FrontEnd>> FrontEnd::Start(FrontEndOptions options,
                                                          FrontEndApp& app) {
  auto front = std::unique_ptr<FrontEnd>(new FrontEnd());
  internal::FrontEndState& state = *front->state_;
  state.options = std::move(options);
  const FrontEndOptions& kept = state.options;
  front->listen_fd_ = Listen(kept.host, kept.port, kept.listen_backlog);
  if (front->listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", kept.host, ":", kept.port));
  }
  front->port_ = BoundPort(front->listen_fd_);
  state.workers = std::make_unique<internal::WorkerPool>(kept.workers, kept.max_queued);
  state.batcher = std::make_unique<internal::FetchBatcher>(
      app, kept.max_batch_keys,
      [&state](int owner, std::vector<internal::FetchBatcher::Item> items) {
        state.loops[static_cast<size_t>(owner)]->Deliver(std::move(items));
      });
  // The first loop accepts and deals the connections to every loop in turn.
  std::vector<internal::EventLoop*> peers;
  for (int i = 0; i < LoopCount(kept.event_loops); ++i) {
    state.loops.push_back(
        std::make_unique<internal::EventLoop>(kept, app, *state.workers, *state.batcher, i,
                                              i == 0 ? front->listen_fd_ : -1, state.connections));
    peers.push_back(state.loops.back().get());
  }
  state.loops.front()->set_peers(peers);
  // The accepting loop starts last: a connection it deals out (queued in the backlog since
  // Listen) must find its loop's wake-up descriptor, which Start creates.
  for (auto loop = state.loops.rbegin(); loop != state.loops.rend(); ++loop) {
    if (!(*loop)->Start()) return absl::UnavailableError("cannot create an event loop");
  }
  return front;
}

FrontEnd::FrontEnd() : state_(std::make_unique<internal::FrontEndState>()) {}

FrontEnd::~FrontEnd() {
  if (!Stop(absl::Seconds(10))) {
    // Requests still run on detached workers that will hand connections back to the loops:
    // keep all they use.
    (void)state_.release();
    return;  // The listening socket stays open too: the loops still hold it in their sets.
  }
  state_.reset();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool FrontEnd::Stop(absl::Duration grace) {
  if (stopped_) return stop_result_;
  stopped_ = true;
  internal::FrontEndState& state = *state_;
  const absl::Time deadline = absl::Now() + grace;
  for (auto& loop : state.loops) loop->BeginStop();
  while (state.connections.load() > 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_result_ = state.workers == nullptr ||
                 state.workers->Stop(std::max(deadline - absl::Now(), absl::ZeroDuration()));
  if (!stop_result_) return false;
  for (auto& loop : state.loops) loop->Quit();
  for (auto& loop : state.loops) loop->Join();
  // Batches still out deliver to the loops' objects: they outlive the batcher's last one.
  state.batcher->AwaitIdle();
  return true;
}

}  // namespace larder::proxy

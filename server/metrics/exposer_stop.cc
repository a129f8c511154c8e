#include "server/metrics/exposer_stop.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace larder::server {
namespace internal {

std::vector<std::string> WakeHostsFor(absl::string_view bind_address) {
  std::vector<std::string> hosts;
  absl::string_view host;
  if (absl::ConsumePrefix(&bind_address, "[")) {
    host = bind_address.substr(0, bind_address.find(']'));
  } else if (const size_t colon = bind_address.rfind(':'); colon != absl::string_view::npos) {
    host = bind_address.substr(0, colon);
  }
  if (!host.empty() && host != "0.0.0.0" && host != "::") hosts.emplace_back(host);
  for (const char* loopback : {"127.0.0.1", "::1"}) {
    if (host != loopback) hosts.emplace_back(loopback);
  }
  return hosts;
}

}  // namespace internal

namespace {

// Opens and closes one TCP connection to host:port (numeric host); failures are ignored, since a
// host that does not reach the server, or a server already closed, needs no waking.
void ConnectOnce(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  const int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd >= 0) {
    (void)connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, absl::string_view bind_address) {
  if (exposer == nullptr) return;
  const std::vector<int> ports = exposer->GetListeningPorts();
  const std::vector<std::string> hosts = internal::WakeHostsFor(bind_address);
  absl::Notification stopped;
  std::thread waker([&] {
    do {
      for (const int port : ports) {
        for (const std::string& host : hosts) ConnectOnce(host, port);
      }
    } while (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(5)));
  });
  exposer.reset();
  stopped.Notify();
  waker.join();
}

}  // namespace larder::server

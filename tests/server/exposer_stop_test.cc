// StopExposer: a prometheus::Exposer stops without waiting out civetweb's 2 s listening poll, and
// the hosts it connects to in order to wake that poll.
#include "server/metrics/exposer_stop.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::server {
namespace {

using ::testing::ElementsAre;

// civetweb polls its listening sockets for this long between checks of its stop flag; a stop
// that waits for the poll to end takes up to this long (and, right after start-up, about this).
constexpr absl::Duration kCivetwebPoll = absl::Seconds(2);

// Connects to 127.0.0.1:port; returns the socket, or -1 when the connection is refused.
int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) return fd;
  close(fd);
  return -1;
}

bool AcceptsConnectionsOn(int port) {
  const int fd = ConnectTo(port);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

constexpr absl::string_view kHttpAnswerStart = "HTTP/1.";

// The first bytes (as many as kHttpAnswerStart) of the server's answer to one HTTP request. Once it
// has answered, its listening thread has accepted the connection and gone back to its poll.
std::string HttpAnswerFrom(int port) {
  const int fd = ConnectTo(port);
  if (fd < 0) return "";
  constexpr absl::string_view kRequest = "GET /metrics HTTP/1.0\r\n\r\n";
  std::string answer(kHttpAnswerStart.size(), '\0');
  size_t received = 0;
  if (write(fd, kRequest.data(), kRequest.size()) == static_cast<ssize_t>(kRequest.size())) {
    for (ssize_t n; received < answer.size() &&
                    (n = read(fd, answer.data() + received, answer.size() - received)) > 0;) {
      received += static_cast<size_t>(n);
    }
  }
  close(fd);
  answer.resize(received);
  return answer;
}

// Starts an exposer on `bind_address`, has it answer one request (so that its listening thread is
// in its poll) and stops it; returns how long the stop took and leaves the port it listened on in
// `*port`.
absl::Duration StartAndStop(const std::string& bind_address, int* port) {
  auto exposer = std::make_unique<prometheus::Exposer>(bind_address);
  const std::vector<int> ports = exposer->GetListeningPorts();
  EXPECT_EQ(ports.size(), 1u);
  *port = ports.empty() ? 0 : ports.front();
  EXPECT_EQ(HttpAnswerFrom(*port), kHttpAnswerStart);
  const absl::Time start = absl::Now();
  StopExposer(std::move(exposer), bind_address);
  return absl::Now() - start;
}

TEST(StopExposerTest, ALoopbackExposerStopsWithinHalfOfCivetwebsPollAndClosesItsPort) {
  int port = 0;
  EXPECT_LT(StartAndStop("127.0.0.1:0", &port), kCivetwebPoll / 2);
  EXPECT_FALSE(AcceptsConnectionsOn(port));
}

TEST(StopExposerTest, AWildcardExposerIsWokenThroughTheLoopback) {
  int port = 0;
  EXPECT_LT(StartAndStop("0.0.0.0:0", &port), kCivetwebPoll / 2);
  EXPECT_FALSE(AcceptsConnectionsOn(port));
}

TEST(StopExposerTest, ANullExposerIsANoOp) { StopExposer(nullptr, "127.0.0.1:0"); }

TEST(WakeHostsForTest, ANamedHostComesFirstThenTheLoopbacks) {
  EXPECT_THAT(internal::WakeHostsFor("10.1.2.3:9464"), ElementsAre("10.1.2.3", "127.0.0.1", "::1"));
  EXPECT_THAT(internal::WakeHostsFor("[fd00::7]:9464"), ElementsAre("fd00::7", "127.0.0.1", "::1"));
}

TEST(WakeHostsForTest, ALoopbackHostIsNotRepeated) {
  EXPECT_THAT(internal::WakeHostsFor("127.0.0.1:0"), ElementsAre("127.0.0.1", "::1"));
  EXPECT_THAT(internal::WakeHostsFor("[::1]:9464"), ElementsAre("::1", "127.0.0.1"));
}

TEST(WakeHostsForTest, AWildcardOrMissingHostIsReachedThroughTheLoopbacks) {
  for (const char* bind_address : {"0.0.0.0:9464", "[::]:9464", "9464", ":9464"}) {
    EXPECT_THAT(internal::WakeHostsFor(bind_address), ElementsAre("127.0.0.1", "::1"))
        << bind_address;
  }
}

}  // namespace
}  // namespace larder::server

#include "tests/testing/memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace larder::testing {
namespace {

constexpr int kStartAttempts = 3;  // A picked port may be taken by the time memcached binds it.

std::string MemcachedPath() {
  const char* from_env = getenv("MEMCACHED");
  return from_env != nullptr ? from_env : "/usr/bin/memcached";
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemcachedServerProcess>> MemcachedServerProcess::Start(
    std::vector<std::string> extra_args) {
  auto server =
      std::unique_ptr<MemcachedServerProcess>(new MemcachedServerProcess(std::move(extra_args)));
  absl::Status started;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    server->port_ = PickFreePort();
    started = server->Launch();
    if (started.ok()) return server;
  }
  return started;
}

// memcached keeps nothing to save, and takes about a second to stop on SIGTERM.
MemcachedServerProcess::~MemcachedServerProcess() { Kill(); }

std::string MemcachedServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status MemcachedServerProcess::Launch() {
  std::vector<std::string> argv = {MemcachedPath(),
                                   "-p",
                                   absl::StrCat(port_),
                                   "-l",
                                   "127.0.0.1",
                                   "-U",
                                   "0",
                                   "-m",
                                   "64",
                                   "-t",
                                   "1"};
  // memcached refuses to run as root unless told which user to run as.
  if (geteuid() == 0) argv.insert(argv.end(), {"-u", "root"});
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!Accepts(port_)) {
    int status = 0;
    if ((*process)->WaitForExit(absl::Milliseconds(10), &status) || absl::Now() > deadline) {
      return absl::UnavailableError(
          absl::StrCat("memcached did not start on port ", port_, ": ", (*process)->LogTail()));
    }
  }
  process_ = *std::move(process);
  return absl::OkStatus();
}

void MemcachedServerProcess::Kill() {
  if (process_ != nullptr) process_->Kill();
}

absl::Status MemcachedServerProcess::Restart() {
  Kill();
  process_.reset();
  return Launch();
}

}  // namespace larder::testing

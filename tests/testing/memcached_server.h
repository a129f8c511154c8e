// MemcachedServerProcess: a real memcached for tests, on a free loopback port (no UDP, 64 MiB,
// one thread). It can be crashed (SIGKILL) and restarted, empty, on the same port, to test how
// larderd lives through a server of its memcached pool going away.
//
//   auto memcached = MemcachedServerProcess::Start();
//   options.memcached.servers = (*memcached)->address();   // "127.0.0.1:PORT"
//   (*memcached)->Kill();  ...  (*memcached)->Restart();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace larder::testing {

class MemcachedServerProcess {
 public:
  // Starts memcached ($MEMCACHED, else /usr/bin/memcached) bound to 127.0.0.1 with
  // `-U 0 -m 64 -t 1` plus `extra_args`, and waits until it accepts connections. kUnavailable
  // with its log when it does not start.
  static absl::StatusOr<std::unique_ptr<MemcachedServerProcess>> Start(
      std::vector<std::string> extra_args = {});
  ~MemcachedServerProcess();  // Kills the server.

  int port() const { return port_; }
  // "127.0.0.1:PORT".
  std::string address() const;
  bool running() const { return process_ != nullptr && process_->running(); }

  // SIGKILL: a crash; every item is gone.
  void Kill();
  // Starts the server again, empty, on the same port (after Kill()).
  absl::Status Restart();

 private:
  explicit MemcachedServerProcess(std::vector<std::string> extra_args)
      : extra_args_(std::move(extra_args)) {}
  absl::Status Launch();

  const std::vector<std::string> extra_args_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace larder::testing

// RedisServerProcess: a real redis-server for tests, on a free loopback port, in its own
// temporary directory, without persistence unless asked. It can be crashed (SIGKILL) and
// restarted on the same port, or frozen (SIGSTOP) and resumed, to test how a client lives
// through a Redis outage.
//
//   auto redis = RedisServerProcess::Start();
//   options.redis.url = (*redis)->url();       // "redis://127.0.0.1:PORT/0"
//   (*redis)->Kill();  ...  (*redis)->Restart();
//   (*redis)->Pause();  ...  (*redis)->Resume();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace larder::testing {

struct RedisServerOptions {
  // Keep an append-only file fsynced on every write, so data survives Kill() + Restart().
  bool persistent = false;
  // More redis-server arguments, e.g. {"--requirepass", "secret"}.
  std::vector<std::string> extra_args;
  // The highest port the server may get. A cluster node needs port + 10000 for its bus, so at
  // most 55535.
  int highest_port = 65535;
};

class RedisServerProcess {
 public:
  // Starts redis-server ($REDIS_SERVER, else /usr/bin/redis-server) bound to 127.0.0.1 and
  // waits until it accepts connections. kUnavailable with its log when it does not start.
  static absl::StatusOr<std::unique_ptr<RedisServerProcess>> Start(RedisServerOptions options = {});
  ~RedisServerProcess();  // Stops the server and removes its directory.

  int port() const { return port_; }
  std::string url() const;
  bool running() const { return process_ != nullptr && process_->running(); }

  // SIGKILL: a crash, with no chance to save anything.
  void Kill();
  // Starts the server again on the same port and directory (after Kill()).
  absl::Status Restart();
  // SIGSTOP, returning once every thread of redis-server is stopped: a server that hangs. Its
  // listening socket still completes TCP handshakes (up to its backlog) and takes in what
  // clients write, but nothing is answered until Resume().
  absl::Status Pause();
  // SIGCONT, returning once redis-server runs again; it then serves what was buffered meanwhile.
  absl::Status Resume();

 private:
  RedisServerProcess(RedisServerOptions options, std::string dir)
      : options_(std::move(options)), dir_(std::move(dir)) {}
  absl::Status Launch();

  const RedisServerOptions options_;
  const std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace larder::testing

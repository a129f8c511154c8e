// AdminServer: larder-proxy's admin listener (--admin-listen), apart from the one clients use:
// /metrics (Prometheus text of the shared registry), /healthz (200 while the process serves) and
// /readyz (200 when `readiness` says OK, else 503 with its message).
//
//   AdminServerOptions options;
//   options.listen = {"127.0.0.1", 9465};
//   options.registry = registry;
//   options.readiness = [&] { return proxy.Readiness(); };
//   auto admin = larder::proxy::AdminServer::Start(std::move(options));
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxy/proxy_options.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace larder::proxy {

struct AdminServerOptions {
  // Where to listen; port 0 picks a free one. Default: 127.0.0.1:9465.
  HostPort listen{"127.0.0.1", 9465};
  // Serialized on every GET /metrics. Default: null (an empty page).
  std::shared_ptr<prometheus::Registry> registry;
  // Asked on every GET /readyz; must be cheap and thread-safe. Default: unset (always ready).
  std::function<absl::Status()> readiness;
  // Worker threads. Default: 2.
  int threads = 2;
};

// Serves from its own thread until Stop() or destruction.
class AdminServer {
 public:
  // kUnavailable naming the address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(AdminServerOptions options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const { return port_; }
  // Stops listening and waits for requests in flight. Idempotent.
  void Stop();

 private:
  AdminServer() = default;

  AdminServerOptions options_;
  std::unique_ptr<::httplib::Server> server_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<bool> ended_{false};
};

}  // namespace larder::proxy

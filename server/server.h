// LarderServer: a running larderd: the storage engine, the larder.v1.Cache service, the
// grpc.health.v1 service (NOT_SERVING while the engine is unhealthy; also on an optional
// plaintext health-only port), server reflection, access control (server/auth) and the
// Prometheus /metrics endpoint.
//
//   auto server = LarderServer::Start(options, registry, Clock::Real());
//   std::cout << (*server)->grpc_address();
//   (*server)->Shutdown();   // finishes in-flight calls within options.shutdown_grace
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server.h"
#include "larder/common/clock.h"
#include "larder/common/log_rate_limiter.h"
#include "prometheus/exposer.h"
#include "server/grpc_services.h"
#include "server/metrics/auth_metrics.h"
#include "server/metrics/rpc_metrics.h"
#include "server/metrics/server_metrics.h"
#include "server/metrics/watch_metrics.h"
#include "server/server_options.h"
#include "server/service/bounded_executor.h"
#include "server/service/cache_handler.h"
#include "server/service/watch_hub.h"
#include "server/storage/engine_registry.h"

namespace larder::server {

class LarderServer {
 public:
  // Validates options, opens the engine and starts serving. kInvalidArgument for bad options,
  // kUnavailable when the engine cannot open or a port cannot be bound.
  static absl::StatusOr<std::unique_ptr<LarderServer>> Start(
      const ServerOptions& options, const storage::EngineRegistry& registry, const Clock& clock);
  ~LarderServer();  // Shuts down if still running.

  // "host:port" actually bound (port 0 resolved); metrics_address empty when disabled.
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }

  // Stops accepting calls, lets in-flight calls finish (cancelling them after the grace
  // period), then stops the health checker. Idempotent.
  void Shutdown();

  // Runs `announce` once, when the engine is first usable: at once when it already is (it is
  // checked by Start), else from the health checker's thread when it becomes healthy; until
  // then, logs what larderd waits for. Call at most once.
  void WhenReady(std::function<void()> announce);

  // Re-reads the tokens file (on SIGHUP, and by itself when the file changes) and writes one
  // log line saying what is in force. Does nothing without --auth-tokens-file.
  void ReloadAuth();

 private:
  explicit LarderServer(const ServerOptions& options) : options_(options) {}
  absl::Status StartGrpc();
  absl::Status StartHealthPort();
  absl::Status StartMetrics();
  void HealthLoop();
  void SetServing(bool serving);
  void CheckHealthAtStart();
  void LogHealth(const absl::Status& health);
  void BecomeReady() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const ServerOptions options_;
  // Before engine_: an engine's change feed reports to it until the engine is destroyed.
  std::unique_ptr<WatchHub> watch_hub_;
  std::unique_ptr<storage::StorageEngine> engine_;
  std::unique_ptr<CacheHandler> handler_;
  RpcMetrics rpc_metrics_;
  std::unique_ptr<BoundedExecutor> executor_;
  std::unique_ptr<BoundedExecutor> namespace_ops_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  // Each before its server: destroyed after it.
  std::unique_ptr<GrpcServices> grpc_services_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<GrpcServices> health_port_services_;
  std::unique_ptr<grpc::Server> health_server_;
  std::shared_ptr<ServerMetrics> metrics_;
  std::shared_ptr<AuthMetrics> auth_metrics_;
  std::shared_ptr<WatchMetrics> watch_metrics_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string grpc_address_;
  std::string metrics_address_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  bool ready_ ABSL_GUARDED_BY(mutex_) = false;  // The engine has been usable once.
  std::function<void()> announce_ ABSL_GUARDED_BY(mutex_);
  std::thread health_thread_;
  // Only Start and then HealthLoop's thread read and write these.
  absl::Status start_health_;  // Written by Start only.
  absl::Status last_health_;
  bool connected_once_ = false;
  absl::Time unhealthy_since_ = absl::InfinitePast();
  LogRateLimiter health_log_limiter_{Clock::Real(), absl::Seconds(30)};
  LogRateLimiter reload_log_limiter_{Clock::Real(), absl::Seconds(30)};
};

}  // namespace larder::server

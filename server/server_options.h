// ServerOptions: everything larderd is configured with, as plain structs. main.cc maps flags
// (and LARDER_* environment variables) into them once; tests fill them directly.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/auth/authorizer.h"
#include "server/service/cache_handler.h"
#include "server/service/watch_hub.h"
#include "server/storage/engine_options.h"
#include "server/tls.h"

namespace larder::server {

// Which of gRPC's server APIs serves larder.v1.Cache and grpc.health.v1.
enum class GrpcApi {
  // Completion queues polled by larderd's own threads (AsyncCacheService, AsyncHealthService):
  // no hand-over of calls between gRPC's threads.
  kAsync,
  // gRPC's callback API (CacheService) with gRPC's default health service.
  kCallback,
};

struct ServerOptions {
  // host:port of the gRPC service; port 0 picks a free port. Default: 127.0.0.1:50051.
  std::string listen = "127.0.0.1:50051";
  // TLS of the gRPC port; plaintext unless a certificate and key are given.
  TlsServerOptions tls;
  // The tokens file of --auth-tokens-file; empty turns authentication off. Default: empty.
  std::string auth_tokens_file;
  // With mutual TLS, whether a client certificate's CN or DNS SAN names a principal.
  // Default: kNone (tokens only).
  auth::TlsPrincipal auth_tls_principal = auth::TlsPrincipal::kNone;
  // The gRPC server API. Default: kAsync.
  GrpcApi grpc_api = GrpcApi::kAsync;
  // With kAsync, completion queues (a thread each) of the gRPC port; 0 means one per core.
  // Default: 0.
  int grpc_threads = 0;
  // Server reflection; unset means on without authentication and off with it. Default: unset.
  std::optional<bool> reflection;
  // host:port of an extra plaintext port serving only grpc.health.v1, for probes that cannot
  // speak TLS; empty disables it. Default: empty.
  std::string health_listen;
  // host:port of the Prometheus /metrics endpoint; empty disables it. Default: 127.0.0.1:9464.
  std::string metrics_address = "127.0.0.1:9464";
  // The storage engine: "memory", "rocksdb" or "redis". Default: memory.
  std::string engine = "memory";
  // Options of each engine; only the chosen one's are read.
  storage::EngineOptions engine_options;
  // TTL defaults and limits, value size limit.
  CacheHandlerOptions handler;
  // Namespaces with their own label on /metrics; the rest share "_other". Default: 100.
  size_t metrics_max_namespaces = 100;
  // Threads and queue of the executor that runs blocking engines' calls. Default: 4 and 4096.
  int storage_threads = 4;
  size_t storage_queue = 4096;
  // Threads and queue of the executor that runs Invalidate and Stats on every engine, so they
  // never occupy gRPC's threads or the storage executor. Default: 2 and 256.
  int namespace_op_threads = 2;
  size_t namespace_op_queue = 256;
  // How often hit/miss counters of idle, empty namespaces are forgotten (at most
  // kIdleNamespaceChecks engine Stats calls each time); zero disables it. Default: 1 min.
  absl::Duration forget_idle_namespaces_interval = absl::Minutes(1);
  // How often engine health is checked for grpc.health.v1. Default: 1 s.
  absl::Duration health_check_interval = absl::Seconds(1);
  // How long /metrics may reuse the engine's entry and byte counts when the engine answers
  // Stats by scanning (RocksDB, Redis). Default: 30 s.
  absl::Duration engine_stats_max_age = absl::Seconds(30);
  // How long shutdown waits for in-flight calls before cancelling them. Default: 10 s.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // After about this long (gRPC adds jitter) a client connection is sent GOAWAY, so clients
  // reconnect and spread over replicas added since; zero disables it. Watch streams end too
  // (the SDK's near cache reconnects and starts from a reset). Default: 5 min.
  absl::Duration max_connection_age = absl::Minutes(5);
  // How long calls in flight may take after that before the connection is closed; zero
  // disables the limit. Default: 30 s.
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // Watch streams: --max-watchers and --watch-buffer-bytes.
  WatchOptions watch;
};

// kInvalidArgument naming the flag and its limit for the first bad option.
absl::Status ValidateServerOptions(const ServerOptions& options);

}  // namespace larder::server

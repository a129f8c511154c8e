// GrpcServices: what larderd serves on one gRPC server, on the API chosen by --grpc-api:
// larder.v1.Cache (optional: the health-only port has none) and grpc.health.v1. With kAsync,
// AsyncCacheService and AsyncHealthService on completion queues polled by larderd's own threads;
// with kCallback, CacheService and gRPC's default health service. The server's lifecycle calls
// it at four points:
//
//   GrpcServices services(GrpcApi::kAsync, /*threads=*/2, cache_args);
//   services.RegisterOn(builder);              // before BuildAndStart
//   services.Start(*server);                   // after BuildAndStart
//   services.SetServing("larder.v1.Cache", false);
//   services.ShutdownHealth(); server->Shutdown(...); services.Stop();
#pragma once

#include <memory>
#include <optional>

#include "absl/strings/string_view.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/server_options.h"
#include "server/service/async_cache_service.h"
#include "server/service/async_health_service.h"
#include "server/service/async_tag.h"
#include "server/service/cache_service.h"

namespace larder::server {

// The cores a cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for no limit) lets the
// process use, rounded up; nullopt for no limit or text that is not of that form.
std::optional<int> CoresFromCgroupCpuMax(absl::string_view cpu_max);

// What --grpc-threads=0 means: the cores this process may run on (its CPU affinity), fewer when
// its cgroup's CPU quota (/sys/fs/cgroup/cpu.max, a container's CPU limit) allows fewer.
int UsableCores();

class GrpcServices {
 public:
  // What larder.v1.Cache is built from (CallRunner's constructor).
  struct CacheArgs {
    CacheHandler& handler;
    RpcMetrics& metrics;
    BoundedExecutor* storage;
    BoundedExecutor& namespace_ops;
    auth::Authorizer* authorizer;
    WatchHub* watch_hub;
  };

  // Without `cache`, only grpc.health.v1 is served. `threads`: completion queues with kAsync,
  // 0 meaning UsableCores().
  GrpcServices(GrpcApi api, int threads, const std::optional<CacheArgs>& cache);
  GrpcServices(const GrpcServices&) = delete;
  GrpcServices& operator=(const GrpcServices&) = delete;
  ~GrpcServices() { Stop(); }

  // Registers the services (and, with kAsync, the completion queues) on `builder`; sets gRPC's
  // process-wide default health service on or off for it.
  void RegisterOn(grpc::ServerBuilder& builder);
  // After BuildAndStart: requests the first calls and starts the queues' threads.
  void Start(grpc::Server& server);
  void SetServing(absl::string_view name, bool serving);
  // Before the server's Shutdown: every status NOT_SERVING, health Watch streams ended.
  void ShutdownHealth();
  // After the server's Shutdown returned: drains the queues and joins their threads.
  void Stop() { queue_threads_.Stop(); }

 private:
  const GrpcApi api_;
  const int threads_;
  std::unique_ptr<CacheService> callback_cache_;
  // The health-only port on the callback API: gRPC needs one callback service to poll for;
  // every method other than health's is UNIMPLEMENTED there.
  grpc::CallbackGenericService callback_others_;
  std::unique_ptr<AsyncCacheService> async_cache_;
  AsyncHealthService async_health_;
  QueueThreads queue_threads_;
  grpc::Server* server_ = nullptr;
};

}  // namespace larder::server

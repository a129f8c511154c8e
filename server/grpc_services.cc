#include "server/grpc_services.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "grpcpp/health_check_service_interface.h"

namespace larder::server {

std::optional<int> CoresFromCgroupCpuMax(absl::string_view cpu_max) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(cpu_max, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  int64_t quota = 0;
  int64_t period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period) || quota <= 0 || period <= 0) {
    return std::nullopt;  // "max": no limit.
  }
  return static_cast<int>(std::min<int64_t>((quota + period - 1) / period, 1 << 20));
}

int UsableCores() {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t affinity;
  if (sched_getaffinity(0, sizeof(affinity), &affinity) == 0) cores = CPU_COUNT(&affinity);
  std::ifstream file("/sys/fs/cgroup/cpu.max");
  std::stringstream text;
  text << file.rdbuf();
  if (std::optional<int> quota = CoresFromCgroupCpuMax(text.str()); quota.has_value()) {
    cores = std::min(cores, *quota);
  }
  return std::max(1, cores);
}

GrpcServices::GrpcServices(GrpcApi api, int threads, const std::optional<CacheArgs>& cache)
    : api_(api), threads_(threads > 0 ? threads : UsableCores()) {
  if (!cache.has_value()) return;
  if (api_ == GrpcApi::kCallback) {
    callback_cache_ =
        std::make_unique<CacheService>(cache->handler, cache->metrics, cache->storage,
                                       cache->namespace_ops, cache->authorizer, cache->watch_hub);
  } else {
    async_cache_ = std::make_unique<AsyncCacheService>(cache->handler, cache->metrics,
                                                       cache->storage, cache->namespace_ops,
                                                       cache->authorizer, cache->watch_hub);
  }
}

void GrpcServices::RegisterOn(grpc::ServerBuilder& builder) {
  grpc::EnableDefaultHealthCheckService(api_ == GrpcApi::kCallback);
  if (api_ == GrpcApi::kCallback) {
    if (callback_cache_ != nullptr) {
      builder.RegisterService(callback_cache_.get());
    } else {
      builder.RegisterCallbackGenericService(&callback_others_);
    }
    return;
  }
  if (async_cache_ != nullptr) builder.RegisterService(async_cache_->service());
  builder.RegisterService(async_health_.service());
  queue_threads_.AddTo(builder, async_cache_ != nullptr ? threads_ : 1);
}

void GrpcServices::Start(grpc::Server& server) {
  server_ = &server;
  if (api_ == GrpcApi::kCallback) return;
  if (async_cache_ != nullptr) async_cache_->AwaitCalls(queue_threads_.queues());
  async_health_.AwaitCalls(queue_threads_.queues());
  queue_threads_.Start();
}

void GrpcServices::SetServing(absl::string_view name, bool serving) {
  if (api_ == GrpcApi::kAsync) return async_health_.SetServing(name, serving);
  grpc::HealthCheckServiceInterface* health =
      server_ == nullptr ? nullptr : server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(std::string(name), serving);
}

void GrpcServices::ShutdownHealth() {
  if (api_ == GrpcApi::kAsync) return async_health_.Shutdown();
  grpc::HealthCheckServiceInterface* health =
      server_ == nullptr ? nullptr : server_->GetHealthCheckService();
  if (health != nullptr) health->Shutdown();
}

}  // namespace larder::server

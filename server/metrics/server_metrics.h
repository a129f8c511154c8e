// ServerMetrics: larderd's Prometheus families, built at scrape time from the lock-free
// counters the request path updates (RpcMetrics, NamespaceStats) and from the engine's Stats.
// Namespace labels are bounded: the first `max_namespaces` namespaces seen get their own
// label; the rest are summed under namespace="_other". The engine's families come from
// EngineMetrics (engine_metrics.h), the process_* families from ProcessFamilies
// (process_metrics.h).
//
//   auto metrics = std::make_shared<ServerMetrics>(rpc_metrics, handler, options);
//   exposer.RegisterCollectable(metrics);
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/metrics/engine_metrics.h"
#include "server/metrics/rpc_metrics.h"
#include "server/service/cache_handler.h"

namespace larder::server {

struct ServerMetricsOptions {
  // Namespaces with a label of their own. Default: 100.
  size_t max_namespaces = 100;
  // The version reported by larder_build_info. Default: the build's.
  std::string version;
  // How long the engine's entries/bytes/evictions/expirations may be reused between scrapes.
  // RocksDB and Redis answer Stats by scanning, so larderd sets this for them. Default: 0
  // (ask the engine at every scrape).
  absl::Duration engine_stats_max_age = absl::ZeroDuration();
  // The data set the engine's figures describe (StoreIdentity in engine_metrics.h). Default:
  // empty.
  std::string store;
  // The memory engine's limit, exported as larder_memory_limit_bytes; 0 exports none.
  // Default: 0.
  int64_t memory_limit_bytes = 0;
};

// Collect() is thread-safe.
class ServerMetrics final : public prometheus::Collectable {
 public:
  ServerMetrics(const RpcMetrics& rpc_metrics, CacheHandler& handler, ServerMetricsOptions options);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  prometheus::MetricFamily RequestCounts() const;
  prometheus::MetricFamily RequestLatencies() const;
  std::vector<prometheus::MetricFamily> HitsAndMisses() const;
  prometheus::MetricFamily LeaseOutcomes() const;

  const RpcMetrics& rpc_metrics_;
  CacheHandler& handler_;
  const ServerMetricsOptions options_;
  const EngineMetrics engine_metrics_;
};

}  // namespace larder::server

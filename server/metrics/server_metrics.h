// ServerMetrics: larderd's Prometheus families, built at scrape time from the lock-free
// counters the request path updates (RpcMetrics, NamespaceStats) and from the engine's Stats.
// Namespace labels are bounded: the first `max_namespaces` namespaces seen get their own
// label; the rest are summed under namespace="_other".
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
};

// Collect() is thread-safe.
class ServerMetrics final : public prometheus::Collectable {
 public:
  ServerMetrics(const RpcMetrics& rpc_metrics, CacheHandler& handler, ServerMetricsOptions options)
      : rpc_metrics_(rpc_metrics), handler_(handler), options_(std::move(options)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  prometheus::MetricFamily RequestCounts() const;
  prometheus::MetricFamily RequestLatencies() const;
  std::vector<prometheus::MetricFamily> HitsAndMisses() const;
  std::vector<prometheus::MetricFamily> EngineFamilies() const;
  prometheus::MetricFamily LeaseOutcomes() const;
  // The engine's Stats(""), reused while younger than engine_stats_max_age.
  absl::StatusOr<storage::EngineStats> EngineStats() const;

  const RpcMetrics& rpc_metrics_;
  CacheHandler& handler_;
  const ServerMetricsOptions options_;
  mutable absl::Mutex stats_mutex_;
  mutable std::optional<storage::EngineStats> cached_stats_ ABSL_GUARDED_BY(stats_mutex_);
  mutable absl::Time cached_at_ ABSL_GUARDED_BY(stats_mutex_) = absl::InfinitePast();
};

}  // namespace larder::server

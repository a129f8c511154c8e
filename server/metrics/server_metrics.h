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

  const RpcMetrics& rpc_metrics_;
  CacheHandler& handler_;
  const ServerMetricsOptions options_;
};

}  // namespace larder::server

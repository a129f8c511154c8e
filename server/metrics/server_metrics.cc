#include "server/metrics/server_metrics.h"

#include <map>
#include <utility>

#include "absl/time/clock.h"
#include "prometheus/client_metric.h"
#include "server/metrics/metric_families.h"
#include "server/metrics/process_metrics.h"

namespace larder::server {
namespace {

using internal::AddCounter;
using internal::AddGauge;
using internal::Family;
using internal::WithLabels;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr absl::string_view kOtherNamespace = "_other";

// Codes larderd itself answers with, exported from zero so the first error shows in rate().
bool IsExpectedCode(int code) {
  switch (static_cast<absl::StatusCode>(code)) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
      return true;
    default:
      return false;
  }
}

ClientMetric::Histogram ToHistogram(const LatencySnapshot& snapshot) {
  ClientMetric::Histogram histogram;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBucketBounds.size(); ++i) {
    cumulative += snapshot.bucket_counts[i];
    histogram.bucket.push_back({cumulative, kLatencyBucketBounds[i]});
  }
  cumulative += snapshot.bucket_counts.back();
  histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  histogram.sample_count = cumulative;
  histogram.sample_sum = snapshot.sum_seconds;
  return histogram;
}

EngineMetricsOptions EngineOptionsOf(const ServerMetricsOptions& options) {
  EngineMetricsOptions engine;
  engine.store = options.store;
  engine.max_namespaces = options.max_namespaces;
  engine.memory_limit_bytes = options.memory_limit_bytes;
  engine.max_age = options.engine_stats_max_age;
  return engine;
}

}  // namespace

ServerMetrics::ServerMetrics(const RpcMetrics& rpc_metrics, CacheHandler& handler,
                             ServerMetricsOptions options)
    : rpc_metrics_(rpc_metrics),
      handler_(handler),
      options_(std::move(options)),
      engine_metrics_(handler.engine(), EngineOptionsOf(options_)) {}

std::vector<MetricFamily> ServerMetrics::Collect() const {
  std::vector<MetricFamily> families;
  families.push_back(RequestCounts());
  families.push_back(RequestLatencies());
  for (MetricFamily& family : HitsAndMisses()) families.push_back(std::move(family));
  for (MetricFamily& family : engine_metrics_.Collect(rpc_metrics_.engine_errors())) {
    families.push_back(std::move(family));
  }
  for (MetricFamily& family : ProcessFamilies("/proc/self")) families.push_back(std::move(family));
  families.push_back(LeaseOutcomes());
  MetricFamily build =
      Family("larder_build_info", "larderd version and engine.", MetricType::Gauge);
  AddGauge(build,
           {{"engine", std::string(handler_.engine().name())}, {"version", options_.version}}, 1);
  families.push_back(std::move(build));
  return families;
}

MetricFamily ServerMetrics::LeaseOutcomes() const {
  MetricFamily family = Family("larder_leases_total",
                               "Lease misses by outcome (granted, waited, stale, table_full) and "
                               "Sets with a lease token (filled, refused; ended or end_failed: "
                               "refused for bad input, its lease ended or not).",
                               MetricType::Counter);
  const LeaseCounters& counters = handler_.lease_counters();
  const std::pair<const char*, const std::atomic<uint64_t>*> outcomes[] = {
      {"granted", &counters.granted}, {"waited", &counters.waited},
      {"stale", &counters.stale},     {"table_full", &counters.table_full},
      {"filled", &counters.filled},   {"refused", &counters.refused},
      {"ended", &counters.ended},     {"end_failed", &counters.end_failed}};
  for (const auto& [outcome, count] : outcomes) {
    AddCounter(family, {{"outcome", outcome}},
               static_cast<double>(count->load(std::memory_order_relaxed)));
  }
  return family;
}

MetricFamily ServerMetrics::RequestCounts() const {
  MetricFamily family = Family("larder_requests_total", "Requests by RPC method and status code.",
                               MetricType::Counter);
  for (int r = 0; r < kRpcCount; ++r) {
    for (int code = 0; code < kStatusCodeCount; ++code) {
      const uint64_t count = rpc_metrics_.Count(static_cast<Rpc>(r), code);
      if (count == 0 && !IsExpectedCode(code)) continue;  // Rare codes appear when they happen.
      AddCounter(family,
                 {{"code", std::string(StatusCodeName(code))},
                  {"method", std::string(RpcName(static_cast<Rpc>(r)))}},
                 static_cast<double>(count));
    }
  }
  return family;
}

MetricFamily ServerMetrics::RequestLatencies() const {
  MetricFamily family = Family("larder_request_duration_seconds",
                               "Time to answer a request, by RPC method.", MetricType::Histogram);
  for (int r = 0; r < kRpcCount; ++r) {
    ClientMetric metric = WithLabels({{"method", std::string(RpcName(static_cast<Rpc>(r)))}});
    metric.histogram = ToHistogram(rpc_metrics_.Latency(static_cast<Rpc>(r)));
    family.metric.push_back(std::move(metric));
  }
  return family;
}

std::vector<MetricFamily> ServerMetrics::HitsAndMisses() const {
  std::map<std::string, HitCounts> by_label;
  HitCounts other = handler_.namespace_stats().OverflowCounts();
  for (const NamespaceHitCounts& entry : handler_.namespace_stats().Snapshot()) {
    if (entry.ordinal < options_.max_namespaces) {
      by_label[entry.name] = entry.counts;
    } else {
      other.hits += entry.counts.hits;
      other.misses += entry.counts.misses;
    }
  }
  if (other.hits != 0 || other.misses != 0) by_label[std::string(kOtherNamespace)] = other;
  MetricFamily hits =
      Family("larder_cache_hits_total", "Reads that found a live entry.", MetricType::Counter);
  MetricFamily misses =
      Family("larder_cache_misses_total", "Reads that found no live entry.", MetricType::Counter);
  for (const auto& [name, counts] : by_label) {
    AddCounter(hits, {{"namespace", name}}, static_cast<double>(counts.hits));
    AddCounter(misses, {{"namespace", name}}, static_cast<double>(counts.misses));
  }
  return {std::move(hits), std::move(misses)};
}

}  // namespace larder::server

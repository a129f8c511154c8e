#include "server/metrics/watch_metrics.h"

#include <string>
#include <utility>

#include "prometheus/client_metric.h"

namespace larder::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddValue(MetricFamily& family, std::vector<ClientMetric::Label> labels, int64_t value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Gauge) {
    metric.gauge.value = static_cast<double>(value);
  } else {
    metric.counter.value = static_cast<double>(value);
  }
  family.metric.push_back(std::move(metric));
}

}  // namespace

std::vector<prometheus::MetricFamily> WatchMetrics::Collect() const {
  const WatchCounters& counters = hub_.counters();
  MetricFamily watchers = Family("larder_watchers", "Watch streams open now.", MetricType::Gauge);
  AddValue(watchers, {}, hub_.watchers());
  MetricFamily events =
      Family("larder_watch_events_total", "Changes queued to Watch streams (one per stream).",
             MetricType::Counter);
  AddValue(events, {}, counters.events.load());
  MetricFamily resets = Family("larder_watch_resets_total",
                               "Watch streams reset: overflow (the stream fell behind its "
                               "--watch-buffer-bytes), lost (the change feed was lost).",
                               MetricType::Counter);
  AddValue(resets, {{"reason", "overflow"}}, counters.overflow_resets.load());
  AddValue(resets, {{"reason", "lost"}}, counters.lost_resets.load());
  MetricFamily refused = Family("larder_watch_refused_total",
                                "Watch calls refused: limit (--max-watchers), not_live (the "
                                "change feed is down).",
                                MetricType::Counter);
  AddValue(refused, {{"reason", "limit"}}, counters.refused_limit.load());
  AddValue(refused, {{"reason", "not_live"}}, counters.refused_not_live.load());
  return {std::move(watchers), std::move(events), std::move(resets), std::move(refused)};
}

}  // namespace larder::server

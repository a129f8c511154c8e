// Small builders of prometheus-cpp MetricFamily values, for larderd's scrape-time collectors
// (server_metrics.cc, engine_metrics.cc, process_metrics.cc).
//
//   MetricFamily family = Family("larder_entries", "Entries held.", MetricType::Gauge);
//   AddGauge(family, {{"store", store}}, 42);
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"

namespace larder::server::internal {

inline prometheus::MetricFamily Family(std::string name, std::string help,
                                       prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

inline prometheus::ClientMetric WithLabels(std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  return metric;
}

inline void AddCounter(prometheus::MetricFamily& family,
                       std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric = WithLabels(std::move(labels));
  metric.counter.value = value;
  family.metric.push_back(std::move(metric));
}

inline void AddGauge(prometheus::MetricFamily& family,
                     std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric = WithLabels(std::move(labels));
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

}  // namespace larder::server::internal

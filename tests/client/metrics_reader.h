// MetricValue: reads one sample of a prometheus::Registry, for tests of client metrics.
//
//   EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
//                         {{"namespace", "users"}, {"result", "hit"}}), 3);
#pragma once

#include <map>
#include <string>

#include "prometheus/registry.h"

namespace larder::testing {

// A counter's or gauge's value, or a histogram's sample count, of the series with exactly `labels`;
// -1 when there is no such series.
inline double MetricValue(const prometheus::Registry& registry, const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      if (have != labels) continue;
      if (family.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(metric.histogram.sample_count);
      }
      if (family.type == prometheus::MetricType::Gauge) return metric.gauge.value;
      return metric.counter.value;
    }
  }
  return -1;
}

}  // namespace larder::testing

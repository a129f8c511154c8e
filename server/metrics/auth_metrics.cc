#include "server/metrics/auth_metrics.h"

#include <utility>

#include "prometheus/client_metric.h"

namespace larder::server {

std::vector<prometheus::MetricFamily> AuthMetrics::Collect() const {
  prometheus::MetricFamily family;
  family.name = "larder_auth_denied_total";
  family.help = "Calls refused by access control, by reason and principal.";
  family.type = prometheus::MetricType::Counter;
  // Both reasons are published from zero: rate() never counts a series' first sample.
  std::vector<auth::DenialCount> denials = authorizer_.Denials();
  bool has_unauthenticated = false;
  for (const auth::DenialCount& denial : denials) {
    has_unauthenticated |= denial.reason == "unauthenticated";
  }
  if (!has_unauthenticated) denials.push_back({"unauthenticated", "_unknown", 0});
  for (const auth::DenialCount& denial : denials) {
    prometheus::ClientMetric metric;
    metric.label = {{"principal", denial.principal}, {"reason", denial.reason}};
    metric.counter.value = static_cast<double>(denial.count);
    family.metric.push_back(std::move(metric));
  }
  return {std::move(family)};
}

}  // namespace larder::server

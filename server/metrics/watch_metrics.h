// WatchMetrics: the larder_watch_* families, built at scrape time from WatchHub's counters:
// streams open, events sent, resets (a stream fell behind, or the change feed was lost), and
// streams refused (--max-watchers, change feed down).
//
//   exposer.RegisterCollectable(std::make_shared<WatchMetrics>(hub));
#pragma once

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/service/watch_hub.h"

namespace larder::server {

class WatchMetrics final : public prometheus::Collectable {
 public:
  explicit WatchMetrics(const WatchHub& hub) : hub_(hub) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const WatchHub& hub_;
};

}  // namespace larder::server

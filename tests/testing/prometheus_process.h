// PrometheusProcess: a real Prometheus server (Debian's /usr/bin/prometheus) on a free loopback
// port, scraping the given targets every second, with a small client for its HTTP query API.
//
//   auto prometheus = PrometheusProcess::Start({{"larderd", {"127.0.0.1:9464"}}});
//   auto samples = (*prometheus)->Query("sum(larder_cache_hits_total)");
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace larder::testing {

// One element of an instant-query result: its labels and value.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

class PrometheusProcess {
 public:
  // Scrape jobs: job name -> "host:port" targets (path /metrics, interval 1 s).
  static absl::StatusOr<std::unique_ptr<PrometheusProcess>> Start(
      const std::map<std::string, std::vector<std::string>>& jobs);
  ~PrometheusProcess();

  // Evaluates `expr` now. kInvalidArgument when Prometheus rejects it; a scalar result comes
  // back as one sample with no labels.
  absl::StatusOr<std::vector<PromSample>> Query(const std::string& expr);

  // Polls `expr` until it yields a sample >= `at_least` (e.g. a counter reaching a workload's
  // size, which proves the data was scraped); returns the last value seen.
  absl::StatusOr<double> WaitForValue(const std::string& expr, double at_least,
                                      absl::Duration timeout);

  int port() const { return port_; }

 private:
  PrometheusProcess() = default;
  absl::Status WaitUntilReady(absl::Duration timeout);

  std::unique_ptr<ChildProcess> process_;
  std::string directory_;
  int port_ = 0;
};

}  // namespace larder::testing

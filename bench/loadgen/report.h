// Report: what one loadgen run measured, as a single JSON line for bench/run.sh. It samples the
// servers' CPU (from /proc) around the measured phase only, and their RSS at the end.
//
//   Report report(options, "larder-get");
//   report.StartMeasuring();  ... run ...  report.StopMeasuring(result, histogram);
//   std::cout << report.ToJson();
#pragma once

#include <string>
#include <vector>

#include "bench/common/proc_stat.h"
#include "bench/loadgen/load_options.h"

namespace larder::bench {

class Report {
 public:
  Report(const LoadOptions& options, std::string label);

  void SetPreload(double seconds) { preload_seconds_ = seconds; }
  // Reads the servers' and this process's CPU time.
  void StartMeasuring();
  // Reads them again and keeps the phase's figures.
  void StopMeasuring(const PhaseResult& result, const LatencyHistogram& histogram);
  // One line of JSON; server_* fields are null without --server-pid.
  std::string ToJson() const;

 private:
  CpuTimes ServerCpu() const;

  const LoadOptions& options_;
  std::string label_;
  double preload_seconds_ = 0;
  CpuTimes server_cpu_start_;
  double client_cpu_start_ = 0;
  CpuTimes server_cpu_;
  double client_cpu_ = 0;
  PhaseResult result_;
  double p50_us_ = 0, p99_us_ = 0, p999_us_ = 0, max_us_ = 0;
};

}  // namespace larder::bench

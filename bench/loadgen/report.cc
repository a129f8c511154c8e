#include "bench/loadgen/report.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/common/proc_stat.h"

namespace larder::bench {
namespace {

std::string Number(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

double PerOp(double total, int64_t count) {
  return count > 0 ? total / static_cast<double>(count) : NAN;
}

}  // namespace

Report::Report(const LoadOptions& options, std::string label)
    : options_(options), label_(std::move(label)) {}

CpuTimes Report::ServerCpu() const {
  CpuTimes total;
  for (int pid : options_.server_pids) {
    absl::StatusOr<CpuTimes> times = CpuTimesOf(pid);
    if (!times.ok()) continue;
    total.user += times->user;
    total.system += times->system;
  }
  return total;
}

void Report::StartMeasuring() {
  server_cpu_start_ = ServerCpu();
  client_cpu_start_ = SelfCpuSeconds();
}

void Report::StopMeasuring(const PhaseResult& result, const LatencyHistogram& histogram) {
  const CpuTimes now = ServerCpu();
  server_cpu_.user = now.user - server_cpu_start_.user;
  server_cpu_.system = now.system - server_cpu_start_.system;
  client_cpu_ = SelfCpuSeconds() - client_cpu_start_;
  result_ = result;
  p50_us_ = histogram.PercentileMicros(0.50);
  p99_us_ = histogram.PercentileMicros(0.99);
  p999_us_ = histogram.PercentileMicros(0.999);
  max_us_ = histogram.MaxMicros();
}

std::string Report::ToJson() const {
  const bool has_server = !options_.server_pids.empty();
  int64_t rss = 0;
  for (int pid : options_.server_pids) rss += RssBytesOf(pid).value_or(0);
  const double seconds = result_.seconds > 0 ? result_.seconds : NAN;
  const double server_cpu = has_server ? server_cpu_.total() : NAN;
  const double server_system = has_server ? server_cpu_.system : NAN;
  return absl::StrCat("{\"label\":\"", label_, "\",\"protocol\":\"",
                      ProtocolName(options_.protocol), "\",\"op\":\"",
                      options_.operation == Operation::kGet ? "get" : "multiget",
                      "\",\"batch\":", options_.operation == Operation::kGet ? 1 : options_.batch,
                      ",\"inflight\":", options_.inflight, ",\"channels\":", options_.channels,
                      ",\"rate\":", Number(options_.rate), ",\"preloaded\":", options_.preload_keys,
                      ",\"preload_s\":", Number(preload_seconds_), ",\"ops\":", result_.ops,
                      ",\"keys\":", result_.keys, ",\"errors\":", result_.errors,
                      ",\"misses\":", result_.misses, ",\"seconds\":", Number(result_.seconds),
                      ",\"ops_per_s\":", Number(static_cast<double>(result_.ops) / seconds),
                      ",\"keys_per_s\":", Number(static_cast<double>(result_.keys) / seconds),
                      ",\"p50_us\":", Number(p50_us_), ",\"p99_us\":", Number(p99_us_),
                      ",\"p999_us\":", Number(p999_us_), ",\"max_us\":", Number(max_us_),
                      ",\"server_cpu_s\":", Number(server_cpu),
                      ",\"server_cpu_us_per_op\":", Number(PerOp(server_cpu * 1e6, result_.ops)),
                      ",\"server_cpu_us_per_key\":", Number(PerOp(server_cpu * 1e6, result_.keys)),
                      ",\"server_sys_us_per_op\":", Number(PerOp(server_system * 1e6, result_.ops)),
                      ",\"client_cpu_us_per_op\":", Number(PerOp(client_cpu_ * 1e6, result_.ops)),
                      ",\"server_rss_bytes\":", has_server ? absl::StrCat(rss) : "null", "}");
}

}  // namespace larder::bench

// larder_loadgen: a load generator for larderd (gRPC) and, for comparison, redis-server (RESP).
// Preloads identical data, warms up, then measures one phase (closed loop, or open loop at
// --rate) and prints ONE JSON line: throughput in operations and keys, latency percentiles and,
// given --server-pid, the server's CPU per operation read from /proc.
//
//   larder_loadgen --target=127.0.0.1:50051 --op=get --inflight=50 --duration=10s
//       --preload-keys=100000 --keys=100000 --server-pid=1234   (one command line)
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/common/dash_flags.h"
#include "bench/common/proc_stat.h"
#include "bench/loadgen/grpc_driver.h"
#include "bench/loadgen/h2_driver.h"
#include "bench/loadgen/redis_driver.h"
#include "bench/loadgen/report.h"

ABSL_FLAG(std::string, protocol, "grpc",
          "grpc (larderd through gRPC's client), h2 (larderd, gRPC over HTTP/2 framed by hand) or "
          "redis (redis-server)");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port on the loopback interface");
ABSL_FLAG(std::string, namespace, "bench", "larder namespace");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections); Redis uses one per --inflight");
ABSL_FLAG(int, inflight, 50, "requests outstanding at once");
ABSL_FLAG(std::string, op, "get", "get or multiget");
ABSL_FLAG(int, batch, 16, "keys per MultiGet / MGET");
ABSL_FLAG(double, read_ratio, 1.0, "share of operations that read; the rest write one key");
ABSL_FLAG(int, value_size, 1024, "bytes per value");
ABSL_FLAG(int64_t, keys, 100000, "key ids [0, keys) are read and written");
ABSL_FLAG(std::string, distribution, "uniform", "uniform or zipf");
ABSL_FLAG(double, zipf_s, 0.99, "Zipf exponent");
ABSL_FLAG(int64_t, preload_keys, 0, "store key ids [0, preload_keys) before the run");
ABSL_FLAG(int, preload_batch, 256, "entries per MultiSet / MSET while preloading");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "unrecorded load before the measurement");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured phase; 0 to only preload");
ABSL_FLAG(int64_t, max_ops, 0, "stop the measured phase after this many operations (0: none)");
ABSL_FLAG(double, rate, 0, "operations per second, open loop; 0 means closed loop");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "per-request deadline");
ABSL_FLAG(std::string, server_pid, "", "comma-separated PIDs charged with server CPU");
ABSL_FLAG(std::string, label, "", "copied into the JSON line");

namespace larder::bench {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "larder_loadgen: " << message << std::endl;
  std::exit(2);
}

bool IsLoopback(const std::string& target) {
  const std::string host = target.substr(0, target.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

std::vector<int> ParsePids(const std::string& list) {
  std::vector<int> pids;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int pid = 0;
    if (!absl::SimpleAtoi(part, &pid) || pid <= 0)
      Fail(absl::StrCat("server-pid: bad '", part, "'"));
    pids.push_back(pid);
  }
  return pids;
}

LoadOptions OptionsFromFlags() {
  LoadOptions options;
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol != "grpc" && protocol != "h2" && protocol != "redis") {
    Fail("protocol: want grpc, h2 or redis");
  }
  options.protocol = protocol == "grpc" ? Protocol::kGrpc
                     : protocol == "h2" ? Protocol::kH2
                                        : Protocol::kRedis;
  options.target = absl::GetFlag(FLAGS_target);
  if (!IsLoopback(options.target)) Fail("target: only loopback addresses (127.x, localhost)");
  options.ns = absl::GetFlag(FLAGS_namespace);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.inflight = absl::GetFlag(FLAGS_inflight);
  const std::string op = absl::GetFlag(FLAGS_op);
  if (op != "get" && op != "multiget") Fail("op: want get or multiget");
  options.operation = op == "get" ? Operation::kGet : Operation::kMultiGet;
  options.batch = absl::GetFlag(FLAGS_batch);
  options.read_ratio = absl::GetFlag(FLAGS_read_ratio);
  options.value_size = static_cast<size_t>(absl::GetFlag(FLAGS_value_size));
  options.keys = static_cast<uint64_t>(absl::GetFlag(FLAGS_keys));
  absl::StatusOr<Distribution> distribution = ParseDistribution(absl::GetFlag(FLAGS_distribution));
  if (!distribution.ok()) Fail(std::string(distribution.status().message()));
  options.distribution = *distribution;
  options.zipf_s = absl::GetFlag(FLAGS_zipf_s);
  options.preload_keys = static_cast<uint64_t>(absl::GetFlag(FLAGS_preload_keys));
  options.preload_batch = absl::GetFlag(FLAGS_preload_batch);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.max_ops = absl::GetFlag(FLAGS_max_ops);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.server_pids = ParsePids(absl::GetFlag(FLAGS_server_pid));
  return options;
}

absl::StatusOr<std::unique_ptr<Driver>> MakeDriver(const LoadOptions& options) {
  if (options.protocol == Protocol::kGrpc) {
    auto driver = GrpcDriver::Create(options);
    if (!driver.ok()) return driver.status();
    return std::unique_ptr<Driver>(*std::move(driver));
  }
  if (options.protocol == Protocol::kH2) {
    auto driver = H2Driver::Create(options);
    if (!driver.ok()) return driver.status();
    return std::unique_ptr<Driver>(*std::move(driver));
  }
  auto driver = RedisDriver::Create(options);
  if (!driver.ok()) return driver.status();
  return std::unique_ptr<Driver>(*std::move(driver));
}

int Main(const LoadOptions& options, const std::string& label) {
  absl::StatusOr<std::unique_ptr<Driver>> driver = MakeDriver(options);
  if (!driver.ok()) Fail(std::string(driver.status().message()));
  Report report(options, label);
  if (options.preload_keys > 0) {
    const int64_t started = NowNanos();
    if (absl::Status status = (*driver)->Preload(); !status.ok()) Fail(status.ToString());
    report.SetPreload(static_cast<double>(NowNanos() - started) / 1e9);
  }
  if (options.duration > absl::ZeroDuration()) {
    LatencyHistogram histogram;
    if (options.warmup > absl::ZeroDuration()) {
      auto warm = (*driver)->RunPhase({options.warmup, 0, options.rate, false}, histogram);
      if (!warm.ok()) Fail(warm.status().ToString());
    }
    report.StartMeasuring();
    auto result =
        (*driver)->RunPhase({options.duration, options.max_ops, options.rate, true}, histogram);
    if (!result.ok()) Fail(result.status().ToString());
    report.StopMeasuring(*result, histogram);
  }
  std::cout << report.ToJson() << std::endl;
  return 0;
}

}  // namespace
}  // namespace larder::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for larderd and redis-server; prints one JSON line.");
  larder::bench::DashesToUnderscores(argc, argv);
  absl::ParseCommandLine(argc, argv);
  return larder::bench::Main(larder::bench::OptionsFromFlags(), absl::GetFlag(FLAGS_label));
}

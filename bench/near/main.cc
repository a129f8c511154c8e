// larder_near_bench: measures the SDK's coherent near cache (ClientOptions::near_cache) and
// prints ONE JSON line. bench/near_bench.sh runs it against a larderd on 127.0.0.1.
//
//   larder_near_bench --mode=get --target=127.0.0.1:7400 --ops=10000
//       under valgrind --tool=callgrind --collect-atstart=no: exactly the 10000 hits are counted
//   larder_near_bench --mode=propagation --target=127.0.0.1:7400 --rate=1000 --duration=5s
//
// Modes: lookup, lookup-fresh (NearCache::Lookup alone, no larderd), get (Client::Get),
// store-lookup (the HTTP layer's LarderResponseStore::Lookup), propagation (write-to-reader
// delay percentiles between two clients). See near_cost.h and propagation.h.
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/common/dash_flags.h"
#include "bench/near/near_cost.h"
#include "bench/near/propagation.h"

ABSL_FLAG(std::string, mode, "get", "lookup, lookup-fresh, get, store-lookup or propagation");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "larderd, host:port on the loopback interface");
ABSL_FLAG(std::string, namespace, "near", "the near-cached namespace");
ABSL_FLAG(int, value_size, 1024, "bytes per value (store-lookup: per response body)");
ABSL_FLAG(int64_t, ops, 10000, "cost modes: hits counted");
ABSL_FLAG(int64_t, warmup_ops, 2000, "cost modes: hits before counting");
ABSL_FLAG(int, keys, 8, "propagation: keys written round-robin and polled");
ABSL_FLAG(double, rate, 1000, "propagation: writes per second (open loop)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "propagation: time spent writing");
ABSL_FLAG(int, max_inflight, 256, "propagation: unacknowledged writes at most");
ABSL_FLAG(bool, mutex_deadlock_detection, true,
          "false: turn Abseil's Mutex deadlock detection off first, as larderd does (Debian's "
          "libabsl has it on in every process that does not)");
ABSL_FLAG(std::string, label, "", "copied into the JSON line");

namespace larder::bench {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "larder_near_bench: " << message << std::endl;
  std::exit(2);
}

bool IsLoopback(const std::string& target) {
  const std::string host = target.substr(0, target.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

int RunCost(CostMode mode, const std::string& mode_name) {
  CostOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.ns = absl::GetFlag(FLAGS_namespace);
  options.value_bytes = absl::GetFlag(FLAGS_value_size);
  options.ops = absl::GetFlag(FLAGS_ops);
  options.warmup_ops = absl::GetFlag(FLAGS_warmup_ops);
  absl::StatusOr<CostResult> got = MeasureCost(mode, options);
  if (!got.ok()) Fail(absl::StrFormat("%s: %s", mode_name, got.status().ToString()));
  std::cout << absl::StrFormat(
                   R"({"label":"%s","mode":"%s","ops":%d,"near_hits":%d,"value_bytes":%d})",
                   absl::GetFlag(FLAGS_label), mode_name, got->ops, got->near_hits,
                   got->value_bytes)
            << std::endl;
  return 0;
}

std::string PropagationJson(const PropagationOptions& options, const PropagationResult& r) {
  return absl::StrFormat(
      R"({"label":"%s","mode":"propagation","rate":%.0f,"keys":%d,"writes":%d,)"
      R"("write_rate":%.0f,"write_errors":%d,"reached":%d,"superseded":%d,"reached_before_ack":%d,)"
      R"("stale_at_end":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,)"
      R"("reader_gets":%d,"reader_near_hits":%d,"reader_errors":%d,"refetch_p50_us":%.1f,)"
      R"("refetch_p99_us":%.1f})",
      absl::GetFlag(FLAGS_label), options.rate, options.keys, r.writes,
      r.write_seconds > 0 ? static_cast<double>(r.writes) / r.write_seconds : 0.0, r.write_errors,
      r.reached, r.superseded, r.reached_before_ack, r.stale_at_end, r.p50_us, r.p90_us, r.p99_us,
      r.max_us, r.reader_gets, r.reader_near_hits, r.reader_errors, r.refetch_p50_us,
      r.refetch_p99_us);
}

int RunPropagation() {
  PropagationOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.ns = absl::GetFlag(FLAGS_namespace);
  options.keys = absl::GetFlag(FLAGS_keys);
  options.value_bytes = absl::GetFlag(FLAGS_value_size);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  absl::StatusOr<PropagationResult> got = MeasurePropagation(options);
  if (!got.ok()) Fail(absl::StrFormat("propagation: %s", got.status().ToString()));
  std::cout << PropagationJson(options, *got) << std::endl;
  return 0;
}

int Main() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (!IsLoopback(absl::GetFlag(FLAGS_target))) Fail("--target must be a loopback address");
  if (absl::GetFlag(FLAGS_value_size) < 12) Fail("--value-size must be at least 12");
  if (absl::GetFlag(FLAGS_ops) < 1 || absl::GetFlag(FLAGS_warmup_ops) < 0) Fail("bad --ops");
  if (mode == "lookup") return RunCost(CostMode::kLookup, mode);
  if (mode == "lookup-fresh") return RunCost(CostMode::kLookupFresh, mode);
  if (mode == "get") return RunCost(CostMode::kClientGet, mode);
  if (mode == "store-lookup") return RunCost(CostMode::kStoreLookup, mode);
  if (mode == "propagation") return RunPropagation();
  Fail("unknown --mode " + mode);
}

}  // namespace
}  // namespace larder::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("the near cache's cost per hit and propagation delay");
  larder::bench::DashesToUnderscores(argc, argv);
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  return larder::bench::Main();
}

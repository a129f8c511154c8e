// GrpcDriver: drives larderd through the larder.v1.Cache gRPC API with the callback client
// (stub->async()). A fixed set of call slots is spread over `channels` separate TCP connections;
// in closed loop each slot re-issues as soon as its reply lands, in open loop a pacer hands
// requests to idle slots at the intended times and latency counts from the intended time.
//
//   auto driver = GrpcDriver::Create(options);          // connects every channel
//   LARDER_RETURN_IF_ERROR((*driver)->Preload());       // MultiSet batches
//   auto result = (*driver)->RunPhase({absl::Seconds(10)}, histogram);
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "bench/loadgen/load_options.h"
#include "larder/v1/cache.grpc.pb.h"

namespace larder::bench {

class GrpcDriver final : public Driver {
 public:
  // kUnavailable when a channel cannot connect within the timeout.
  static absl::StatusOr<std::unique_ptr<GrpcDriver>> Create(const LoadOptions& options);
  ~GrpcDriver() override;

  absl::Status Preload() override;
  absl::StatusOr<PhaseResult> RunPhase(const PhaseSpec& phase,
                                       LatencyHistogram& histogram) override;

 private:
  struct Slot;
  explicit GrpcDriver(const LoadOptions& options);

  absl::Status PreloadShard(v1::Cache::Stub& stub, int shard, int shards);
  bool TakeBudget();
  void Issue(Slot& slot, int64_t start_nanos);
  void OnDone(Slot& slot, bool ok, int64_t keys, int64_t misses);
  void Release(Slot& slot);
  void RunClosedLoop(int64_t deadline_nanos);
  void RunOpenLoop(double rate, int64_t deadline_nanos);
  Slot* AcquireIdle(int64_t deadline_nanos);
  void AwaitIdleAll(int64_t deadline_nanos);

  const LoadOptions options_;
  const KeyChooser chooser_;
  const ValuePool values_;
  std::vector<std::unique_ptr<v1::Cache::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;

  // State of the running phase.
  bool closed_loop_ = true;
  LatencyHistogram* histogram_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> recording_{false};
  std::atomic<int64_t> budget_{0};
  std::atomic<int64_t> ops_{0}, keys_{0}, errors_{0}, misses_{0};
  std::atomic<int64_t> last_done_nanos_{0};

  absl::Mutex mutex_;
  int active_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<Slot*> idle_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::bench

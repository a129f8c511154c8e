// AsyncHealthService: grpc.health.v1.Health (Check and Watch) on completion queues, larderd's
// own in place of gRPC's default health service, which runs on the callback API: one callback
// service in the process brings gRPC's callback threads back, and with them a hand-over of
// every call between threads (docs/performance.md). Statuses are set by name; a name never set
// is unknown (Check: NOT_FOUND; Watch: SERVICE_UNKNOWN until it is set). A Watch gets the status
// at once and then each change; a watcher that reads slowly gets only the latest; at most
// max_watchers streams are open at once (more: RESOURCE_EXHAUSTED). Shutdown
// sets every status NOT_SERVING, sends that to the watchers and ends their streams.
//
//   AsyncHealthService health;
//   builder.RegisterService(health.service());  ... BuildAndStart ...
//   health.AwaitCalls(threads.queues());
//   health.SetServing("larder.v1.Cache", false);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/completion_queue.h"
#include "server/service/async_tag.h"

namespace larder::server {

class AsyncHealthService {
 public:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // `max_watchers`: Watch streams open at once at most.
  explicit AsyncHealthService(size_t max_watchers = kMaxWatchers) : max_watchers_(max_watchers) {}
  AsyncHealthService(const AsyncHealthService&) = delete;
  AsyncHealthService& operator=(const AsyncHealthService&) = delete;

  grpc::Service* service() { return &service_; }
  // Requests the first Check and Watch calls on every queue. Call once, after the server started.
  void AwaitCalls(const std::vector<std::unique_ptr<ServedQueue>>& queues);
  // Ignored after Shutdown.
  void SetServing(absl::string_view name, bool serving);
  void Shutdown();

  // Open Watch streams at most by default (each costs a gRPC stream and about 1 KiB).
  static constexpr size_t kMaxWatchers = 1000;

 private:
  class CheckCall;
  class Watcher;

  // UNKNOWN-free: SERVING, NOT_SERVING or SERVICE_UNKNOWN (a name never set).
  Status StatusOf(absl::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // A new Watch: registers it and offers it the status now; UNAVAILABLE after Shutdown,
  // RESOURCE_EXHAUSTED beyond max_watchers.
  grpc::Status AddWatcher(const std::shared_ptr<Watcher>& watcher, absl::string_view name);
  void RemoveWatcher(const Watcher* watcher);

  const size_t max_watchers_;
  grpc::health::v1::Health::AsyncService service_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Status> statuses_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<const Watcher*, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mutex_);
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace larder::server

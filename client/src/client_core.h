// ClientCore: what every RPC of a larder::Client shares — the channel and stub, the options,
// the auth token, metrics, retry budget and retry timers, the count of calls in flight,
// whether the server lacks leases, and the near cache with its Watch streams.
//
//   LARDER_ASSIGN_OR_RETURN(auto core, ClientCore::Create(options));
//   StartUnaryCall<v1::GetRequest, v1::GetResponse>(*core, "Get", &Rpcs::Get,
//                                                    Idempotency::kIdempotent, request, done);
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/src/auth_token.h"
#include "client/src/near_cache.h"
#include "client/src/near_watch.h"
#include "client/src/retry_policy.h"
#include "client/src/timer_queue.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "larder/client_metrics.h"
#include "larder/client_options.h"
#include "larder/common/clock.h"
#include "larder/v1/cache.grpc.pb.h"

namespace larder::client::internal {

// The stub's callback-API interface (stub->async()).
using Rpcs = v1::Cache::StubInterface::async_interface;

// Thread-safe.
class ClientCore {
 public:
  // kInvalidArgument for unusable options, an unusable or unreadable token (see Client::Create).
  static absl::StatusOr<std::unique_ptr<ClientCore>> Create(ClientOptions options);
  // Waits until no call is in flight.
  ~ClientCore();

  Rpcs& rpcs() { return *stub_->async(); }
  const ClientOptions& options() const { return options_; }
  ClientMetrics& metrics() const { return *metrics_; }
  const Clock& clock() const { return *options_.clock; }

  // Adds `authorization: Bearer <token>` to one attempt's context when a token is configured
  // (re-reading a changed token file at most once per second).
  void Authorize(grpc::ClientContext& context);

  // Bracket every call, from its start until after its callback ran.
  void CallStarted();
  void CallFinished();

  // When a call that made `attempts_made` attempts and failed with `failure` may try again,
  // or nullopt: only when MayRetry(failure, idempotency) (kUnavailable of an idempotent call),
  // within max_attempts, before `deadline`, within the budget.
  std::optional<absl::Time> RetryTime(const absl::Status& failure, Idempotency idempotency,
                                      int attempts_made, absl::Time deadline);
  // Runs `callback` at real time `when` on the retry timer thread.
  void RunAt(absl::Time when, std::function<void()> callback) {
    timers_.RunAt(when, std::move(callback));
  }

  // The near cache when `ns` is one of ClientOptions::near_cache's namespaces, else null.
  NearCache* near_cache_for(absl::string_view ns) const;

  // Whether larderd answered a Lease with UNIMPLEMENTED (a server or engine without leases):
  // once set, it stays set for the client's lifetime.
  bool leases_unimplemented() const { return leases_unimplemented_.load(); }
  void set_leases_unimplemented() { leases_unimplemented_.store(true); }

 private:
  ClientCore(ClientOptions options, std::unique_ptr<ClientMetrics> metrics,
             std::unique_ptr<AuthToken> auth, std::shared_ptr<grpc::Channel> channel);
  bool NoCallInFlight() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return in_flight_ == 0; }
  // Builds the near cache and opens its Watch streams, when ClientOptions::near_cache asks.
  void StartNearCache();

  const ClientOptions options_;
  std::unique_ptr<ClientMetrics> metrics_;
  std::unique_ptr<AuthToken> auth_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Cache::StubInterface> stub_;
  RetryBudget budget_;
  absl::Mutex mutex_;
  int64_t in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<bool> leases_unimplemented_{false};
  std::unique_ptr<NearCache> near_cache_;
  absl::flat_hash_set<std::string> near_namespaces_;
  // Stopped first thing in the destructor; destroyed after timers_, whose last callbacks may
  // still reach it.
  std::unique_ptr<NearWatcher> near_watcher_;
  // Last: destroyed (and joined) first, once no call is in flight.
  TimerQueue timers_;
};

}  // namespace larder::client::internal

// NearWatcher: keeps one larder.v1 Watch stream open per near-cached namespace and applies its
// events to the NearCache: `reset` makes the namespace live (from nothing), every other event
// invalidates what it covers, and the end of a stream (larderd gone, its change feed lost, a
// refused call) takes the namespace down until a new stream says `reset` again. A stream that
// ends is opened again after a pause that doubles from 20 ms up to
// ClientOptions::max_reconnect_backoff (with jitter), or at once when it had been live. Each
// event, and the end of a live stream, also wakes the calls waiting for another process's lease
// of a key it covers (KeyWaiters::Process(), key_waiters.h), and the process's KeyWaiters know
// which namespaces have a live stream.
//
//   NearWatcher watcher(core, near_cache, {"users", "pages"});
//   watcher.Start();
//   ...
//   watcher.Stop();   // before the channel goes: cancels the streams and waits for them
//
// Failures are counted (larder_client_near_cache_resets_total through the cache) and logged at
// most once a minute per cause, without untrusted bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/src/near_cache.h"
#include "client/src/rate_limited_log.h"

namespace larder::client::internal {

class ClientCore;
class WatchCall;

// Thread-safe.
class NearWatcher {
 public:
  // `core` and `cache` must outlive the watcher.
  NearWatcher(ClientCore& core, NearCache& cache, std::vector<std::string> namespaces);
  ~NearWatcher();  // Stops.
  NearWatcher(const NearWatcher&) = delete;
  NearWatcher& operator=(const NearWatcher&) = delete;

  // Opens every namespace's stream.
  void Start();
  // Cancels every stream and waits until each has ended and been destroyed (with its context and
  // its reference to the channel); nothing is opened again afterwards.
  void Stop();

  // From `call`'s OnDone, once its call is over (`live` when it had delivered a reset); releases
  // the watcher's reference to it, which may be the last (destroying the call), and may schedule
  // a new call of the namespace.
  void Ended(const WatchCall* call, const std::string& ns, int attempt, bool live,
             const std::string& why);

 private:
  void Open(const std::string& ns, int attempt);
  // Logs why the stream of `ns` ended and schedules its next call.
  void Reopen(const std::string& ns, int attempt, bool live, const std::string& why);
  bool NoneOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return open_.empty() && ending_ == 0;
  }

  ClientCore& core_;
  NearCache& cache_;
  const std::vector<std::string> namespaces_;
  RateLimitedLog log_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Each call from Open until its OnDone.
  std::vector<std::shared_ptr<WatchCall>> open_ ABSL_GUARDED_BY(mutex_);
  // Ended calls still running (each has left open_).
  int ending_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::client::internal

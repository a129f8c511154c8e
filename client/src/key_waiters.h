// KeyWaiters: wakes the calls that wait for another process's lease (larder::Cached, the HTTP
// layer's FleetLease) when a Watch stream of the near cache (near_watch.h) reports a change of
// their key, so that they poll Lease again at once instead of at their next poll. LeaseWait
// paces one such call between its polls.
//
//   KeyWaiters& waiters = KeyWaiters::Process();
//   // The near cache's stream of "users", per event:
//   waiters.StreamLive("users");          // its first `reset`
//   waiters.Notify("users", "42");        // a `key` event
//   waiters.NotifyNamespace("users");     // all / prefix / pattern / tag / a later reset
//   waiters.StreamEnded("users");         // the live stream ended (notifies the namespace too)
//   // A call waiting for the lease of ("users", "42"):
//   LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
//   for (int poll = 1; answer.wait; ++poll) { wait.Pause(poll, left); answer = Lease(…); }
//
// Design.
// * One registry per process, fed by the streams of every client: a waiting call does not know
//   which Client its answers come from (the HTTP layer sees a ResponseStore). An event of the
//   same namespace from another client's larderd costs a spurious poll, nothing more.
// * Waiters live in kStripes stripes by hash of (ns, key), each a mutex over the vector of its
//   waiters: Notify locks one stripe, NotifyNamespace each in turn. Only waiting calls and
//   events touch the registry (never Get, Set or Lease), and events cost one atomic load while
//   nobody in the process waits.
// * Bounds: one entry per waiting call, from its first watched pause until the call ends;
//   Notify is O(waiters of one stripe). One live-stream counter per namespace with a live
//   stream (at most the near-cached namespaces of all clients).
// * No wake-up is lost. A waiter registers before its first watched pause, and that pause is the
//   short one of LeasePollBackoff (5 ms): a change whose event came before the registration was
//   applied by larderd before it, so the poll after that pause sees it. Every later change
//   notifies the waiter, whose signal stays raised until it takes it, just before its next poll.
//   Every namespace-wide invalidation voids all the namespace's leases in larderd, so waking the
//   namespace's waiters lets one of them take the new lease at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/wait_clock.h"

namespace larder::client::internal {

// Thread-safe.
class KeyWaiters {
 public:
  static constexpr size_t kStripes = 16;

  // One registered waiting call: its signal is raised by every notification that covers its
  // key until it is destroyed, which unregisters it. Its registry must outlive it.
  class Waiter {
   public:
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    const WaitSignal& signal() const { return signal_; }
    // Whether a notification came since the last Take; lowers the signal.
    bool Take() { return signal_.Take(); }

   private:
    friend class KeyWaiters;
    Waiter(KeyWaiters& owner, absl::string_view ns, absl::string_view key, size_t stripe);

    KeyWaiters& owner_;
    const std::string ns_;
    const std::string key_;
    const size_t stripe_;
    WaitSignal signal_;
  };

  // The SDK's registry, fed by every client's near-cache streams. Never destroyed.
  static KeyWaiters& Process();

  KeyWaiters() = default;
  KeyWaiters(const KeyWaiters&) = delete;
  KeyWaiters& operator=(const KeyWaiters&) = delete;

  // Registers a waiting call of (ns, key). O(1) plus one stripe lock.
  std::unique_ptr<Waiter> Register(absl::string_view ns, absl::string_view key);
  // Raises the signal of every waiter of (ns, key). O(waiters of its stripe).
  void Notify(absl::string_view ns, absl::string_view key);
  // Raises the signal of every waiter of `ns`. O(waiters), one stripe locked at a time.
  void NotifyNamespace(absl::string_view ns);

  // A Watch stream of `ns` became live (its first `reset`) / a live one ended. Each end must
  // follow its start; StreamEnded also notifies the namespace.
  void StreamLive(absl::string_view ns);
  void StreamEnded(absl::string_view ns);
  // Whether some Watch stream of `ns` is live in the process.
  bool Watched(absl::string_view ns) const;

  // Waiters registered now.
  int64_t waiting() const { return waiting_.load(); }

 private:
  struct Stripe {
    absl::Mutex mutex;
    std::vector<Waiter*> waiters ABSL_GUARDED_BY(mutex);
  };

  static size_t StripeOf(absl::string_view ns, absl::string_view key);
  void Unregister(const Waiter& waiter);

  std::atomic<int64_t> waiting_{0};
  std::array<Stripe, kStripes> stripes_;
  mutable absl::Mutex live_mutex_;
  // Live streams by namespace; only namespaces with at least one.
  absl::flat_hash_map<std::string, int> live_ ABSL_GUARDED_BY(live_mutex_);
};

// The pauses of one call waiting for another caller's lease of (ns, key), between its polls.
// While `watchable` and a Watch stream of ns is live (KeyWaiters::Watched), the call registers
// and each pause ends early when an event covering its key arrives (then the call polls at once):
// the first pause after registering is LeasePollBackoff's, the later ones
// WatchedLeasePollBackoff's (100 ms doubling to 500 ms): the fallback for what sends no event,
// such as a holder's lease expiring or being released. Otherwise (no stream, the stream down) it
// sleeps LeasePollBackoff's pause, as without a near cache. One call's: not thread-safe.
class LeaseWait {
 public:
  // `waiters`, `clock`, `ns` and `key` must outlive it. `watchable`: whether events of `ns` may
  // concern the caller's larderd (larder::Cached: its client near-caches ns).
  LeaseWait(KeyWaiters& waiters, absl::string_view ns, absl::string_view key, bool watchable,
            const WaitClock& clock);

  // Waits before poll number `poll` (1 for the first after the first `wait`), at most `left`.
  // True when a Watch event ended the pause early.
  bool Pause(int poll, absl::Duration left);

 private:
  KeyWaiters& waiters_;
  const absl::string_view ns_;
  const absl::string_view key_;
  const bool watchable_;
  const WaitClock& clock_;
  std::unique_ptr<KeyWaiters::Waiter> waiter_;  // From the first watched pause.
  int watched_pauses_ = 0;                      // Long pauses so far.
};

}  // namespace larder::client::internal

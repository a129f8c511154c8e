// CoherenceWriter: the writer of the near-cache coherence end-to-end tests, run inside
// near_coherence_child (--role=writer). Through plain larder::Clients (no near cache, used in
// turn) it changes keys k00 .. k<keys-1> of one namespace as fast as a bounded rate allows and
// records every change once it is answered (near_coherence_history.h):
// - Sets "<key>:<version>" with versions increasing per key, tagged "coherent" and
//   "g<index % 8>"; all but cold_write_percent of the key changes go to the first
//   hot_write_keys keys; delete_percent of them are Deletes;
// - a Set of one of the last probe_keys keys (in turn) every probe_write_every, for the probe;
// - every invalidate_every an Invalidate by prefix "k<d>" or by tag "g<r>" (alternately), one
//   record per key it covers, whose floor is the version of that key acknowledged when it is
//   sent.
// At most one call per key is in flight, so a key's changes are applied in the order sent.
//
//   CoherenceWriter writer(clients, WriterOptions{});
//   writer.Run(start_ns, end_ns);            // returns once every call has been answered
//   std::vector<CoherenceChange> changes = writer.changes();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/client.h"
#include "tests/client/near_coherence_history.h"

namespace larder::testing {

// "k00", "k01", … "k63": the name of key `index`.
std::string CoherenceKey(int index);

// Sleeps `nanos` (nothing when not positive).
void SleepNanos(int64_t nanos);

// Paces a loop to at most `rate` iterations per second from `start_ns` (CLOCK_MONOTONIC); it
// falls behind by at most 10 ms, so a stall does not turn into a burst.
class Pacer {
 public:
  Pacer(double rate, int64_t start_ns);
  // Sleeps until the next iteration is due.
  void Wait();

 private:
  const int64_t period_ns_;
  int64_t next_ns_;
};

struct WriterOptions {
  std::string namespace_name = "coherent";
  int keys = 64;
  double changes_per_second = 10000;  // At most.
  int max_in_flight = 64;
  int hot_write_keys = 32;
  int cold_write_percent = 1;
  int delete_percent = 2;
  int probe_keys = 2;
  absl::Duration probe_write_every = absl::Milliseconds(5);
  absl::Duration invalidate_every = absl::Milliseconds(500);
};

// Run from one thread; the clients' callbacks run on theirs.
class CoherenceWriter {
 public:
  CoherenceWriter(std::vector<std::shared_ptr<Client>> clients, WriterOptions options);

  // Changes keys from `start_ns` until `end_ns` (CLOCK_MONOTONIC), then waits (at most 30 s)
  // for the calls in flight.
  void Run(int64_t start_ns, int64_t end_ns);

  std::vector<CoherenceChange> changes();
  // "role=writer sent=N acknowledged=N failed=N".
  std::string Summary();

 private:
  // One call, decided under the lock and sent after it.
  struct Call {
    enum class Kind { kNone, kSet, kDelete, kInvalidate };
    Kind kind = Kind::kNone;
    Client* client = nullptr;
    size_t key = 0;
    int64_t version = 0;  // kSet: the version written; kDelete: the floor.
    std::optional<InvalidateTarget> target;
    std::vector<CoherenceChange> covered;  // kInvalidate: one removal per key, times unset.
  };

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return in_flight_ == 0; }
  bool HasSlot() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return in_flight_ < options_.max_in_flight;
  }
  bool AwaitSlot();
  std::optional<size_t> PickIdleKey() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Counts the call in flight and marks its key busy; returns it.
  Call Begin(Call call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  Call DecideKeyChange();
  Call DecideProbeWrite();
  Call DecideInvalidation();
  void Send(Call call);
  void SendSet(const Call& call);
  void SendDelete(const Call& call);
  void SendInvalidate(Call call);
  // Ends one call: frees its key (if any) and counts it.
  void Finish(std::optional<size_t> key, bool acknowledged) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::vector<std::shared_ptr<Client>> clients_;
  const WriterOptions options_;
  const int probe_keys_;  // The last keys: k<keys - probe_keys> ..
  absl::Mutex mutex_;
  absl::InsecureBitGen random_ ABSL_GUARDED_BY(mutex_);
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t sent_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t acknowledged_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t invalidations_ ABSL_GUARDED_BY(mutex_) = 0;
  int probe_turn_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<bool> busy_ ABSL_GUARDED_BY(mutex_);
  std::vector<int64_t> next_version_ ABSL_GUARDED_BY(mutex_);
  std::vector<int64_t> last_acked_ ABSL_GUARDED_BY(mutex_);
  std::vector<CoherenceChange> changes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::testing

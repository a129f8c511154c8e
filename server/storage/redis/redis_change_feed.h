// RedisChangeFeed: follows the change messages that every larderd sharing a Redis publishes on
// one channel (redis_change_message.h) and hands each to a ChangeListener: the Redis engine's
// side of the Watch stream (RedisEngine::WatchChanges). One dedicated connection, not from the
// pools, on its own thread, SUBSCRIBEd to the channel; on a Redis Cluster one connection to any
// one node is enough, because Redis forwards every PUBLISH to every node.
//
//   RedisChangeFeed feed([&] { return std::vector<RedisEndpoint>{endpoint}; }, /*prober=*/nullptr,
//                        {.channel = "larder:changes"}, listener);
//   // listener.OnLive() once subscribed, then OnChange(ns, kind, subject) per message;
//   // OnLost() when the connection breaks or stops answering, OnLive() again once resubscribed.
//
// Liveness: a PING goes out on the subscribed connection every ping_interval; no answer within
// command_timeout counts as a lost connection, so a silent dead peer (a frozen server, a dropped
// network path) is noticed within ping_interval + command_timeout. With a Prober (a cluster), a
// probe message (redis_change_message.h) also goes out every probe_interval by another path
// (through some master); one that Redis accepted but the subscription did not hear within
// probe_timeout counts as lost too: the node subscribed to answers PING but no longer hears the
// rest of the cluster (a partition, a node removed from it). Then the feed calls OnLost,
// and reconnects to the next candidate with jittered exponential backoff (initial_backoff up to
// max_backoff), resubscribes and calls OnLive. OnLive and OnLost alternate, OnLive first; the
// destructor calls OnLost when live. A malformed message is dropped and counted (never passed
// on); what else the connection receives that is not a pub/sub reply of the channel counts as a
// lost connection. Lines go to stderr, rate-limited per cause (lost, cannot subscribe, malformed
// message; "following" once at first and after each lost line written), naming the server by
// RedisEndpoint::Describe (never a password).
//
// Costs: one connection and one thread; per message O(message size) and one OnChange call, on
// the feed's thread (the listener must not block). Every I/O wait polls the connection together
// with a wake fd, so the destructor returns within a few ms (a host name is resolved before
// each connection attempt, blocking: use addresses where that matters). Internal to
// server/storage/redis. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/change_listener.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage::internal {

struct RedisChangeFeedOptions {
  // Default: "larder:changes" (the default key prefix followed by kChangesChannelSuffix).
  std::string channel = "larder:changes";
  // Connecting, authenticating and subscribing must together take at most connect_timeout +
  // command_timeout; a PING at most command_timeout. Default: 1 s each.
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  // Default: 1 s.
  absl::Duration ping_interval = absl::Seconds(1);
  // With a Prober: how often a probe goes out, and how long after Redis accepted it the
  // subscription must have heard it. Default: 1 s, 3 s.
  absl::Duration probe_interval = absl::Seconds(1);
  absl::Duration probe_timeout = absl::Seconds(3);
  // First and longest wait between subscription attempts. Default: 50 ms, 1 s.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // At most one log line per cause per log_interval. Default: 10 s.
  absl::Duration log_interval = absl::Seconds(10);
};

class RedisChangeFeed {
 public:
  // The servers to subscribe to, in order of preference; asked again before each attempt, each
  // attempt taking the next one (round robin).
  using Candidates = absl::AnyInvocable<std::vector<RedisEndpoint>()>;
  // Sends probe `message` to the channel by another path than the subscription (through some
  // master), and calls `published` once Redis accepted it (never when it did not). Runs on the
  // feed's thread, so must not block; `published` may run on any thread, at any time.
  using Prober =
      absl::AnyInvocable<void(std::string message, absl::AnyInvocable<void() &&> published)>;

  // Starts the thread, which subscribes at once. `candidates` runs on the feed's thread;
  // `prober` may be nullptr (no probes: a standalone server); `listener` must outlive the feed.
  RedisChangeFeed(Candidates candidates, Prober prober, RedisChangeFeedOptions options,
                  ChangeListener& listener);
  // Stops the thread (calling OnLost when live) and closes the connection.
  ~RedisChangeFeed();
  RedisChangeFeed(const RedisChangeFeed&) = delete;
  RedisChangeFeed& operator=(const RedisChangeFeed&) = delete;

  // Messages dropped as malformed so far.
  int64_t rejected_messages() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  // The probe outstanding, shared with the Prober's `published` callbacks (which may outlive
  // the feed).
  struct ProbeState {
    absl::Mutex mutex;
    std::string token ABSL_GUARDED_BY(mutex);                        // "" for none.
    absl::Time due ABSL_GUARDED_BY(mutex) = absl::InfiniteFuture();  // Set once published.
  };
  // At most one line per interval, counting those it held back.
  struct LogLimiter {
    absl::Time last = absl::InfinitePast();
    int64_t held_back = 0;
  };

  void Run();
  // One connection: subscribes, then follows until it fails (the reason) or the feed stops.
  absl::Status FollowOne();
  absl::Status Subscribe(const RedisEndpoint& endpoint);
  // The handshake's replies (one per `handshake` command), then the confirmation.
  absl::Status AwaitConfirmation(const RedisEndpoint& endpoint,
                                 const std::vector<std::vector<std::string>>& handshake);
  absl::Status Follow();
  // Sends a PING when due; kUnavailable when the last one is overdue.
  absl::Status CheckPing(absl::Time now);
  // Sends a probe when due; kUnavailable when the last one published is overdue.
  absl::Status CheckProbe(absl::Time now) ABSL_LOCKS_EXCLUDED(probe_->mutex);
  absl::Time NextDeadline() const ABSL_LOCKS_EXCLUDED(probe_->mutex);
  // Passes on every complete reply read so far.
  absl::Status Dispatch();
  void Deliver(absl::string_view payload);
  // Queues commands in RESP form for writing.
  absl::Status Send(absl::string_view commands);
  // One poll of the connection and the wake fd until `deadline` (1 s at most), then writes and
  // reads what it can.
  absl::Status Exchange(absl::Time deadline);
  void WaitForWake(absl::Duration timeout);
  // Writes `line` unless `limiter` held it back; true when written.
  bool Log(LogLimiter& limiter, absl::string_view line);

  Candidates candidates_;
  Prober prober_;
  const RedisChangeFeedOptions options_;
  ChangeListener& listener_;
  const int wake_fd_;  // An eventfd: the destructor.
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> rejected_{0};

  // The feed thread's own.
  std::unique_ptr<RedisConnection> connection_;
  std::string server_;  // RedisEndpoint::Describe of the server of connection_.
  bool write_pending_ = false;
  bool live_ = false;
  absl::Time ping_due_ = absl::InfiniteFuture();    // When to send the next PING.
  absl::Time pong_due_ = absl::InfiniteFuture();    // When the PING sent must be answered by.
  absl::Time probe_next_ = absl::InfiniteFuture();  // When to send the next probe.
  const std::shared_ptr<ProbeState> probe_ = std::make_shared<ProbeState>();
  absl::BitGen random_;
  size_t next_candidate_;
  absl::Duration backoff_ = absl::ZeroDuration();
  LogLimiter lost_log_, failed_log_, rejected_log_;
  bool owe_live_line_ = true;  // The first subscription, and each after a lost line written.
  std::thread thread_;         // Started last.
};

}  // namespace larder::storage::internal

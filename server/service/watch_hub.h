// WatchHub: larderd's side of the Watch RPC. Engines (or WithChangeReports around them) report
// each applied change to it (storage::ChangeListener); it numbers the changes of each namespace
// and hands each to every stream watching that namespace (WatchSink; WatchStream is the gRPC
// one).
//
//   WatchHub hub(WatchOptions{});
//   if (!engine->WatchChanges(&hub)) engine = WithChangeReports(std::move(engine), hub);
//   hub.OnLive();                                   // memory, RocksDB: changes are all seen here
//   absl::Status added = hub.Add("users", sink);    // sink gets reset, then every change
//
// Bounds: at most max_watchers sinks at once (Add answers RESOURCE_EXHAUSTED beyond); each sink
// buffers at most buffer_bytes of events and replaces them by a reset when it overflows.
// Cost of a change: one stripe lock (namespaces are spread over kStripes stripes, so writes to
// different namespaces rarely share one) and one queued event per watcher of its namespace;
// nothing at all while no stream watches anything.
//
// Order: a sink's events come in the order the hub received the changes of its namespace, its
// reset first. While the hub is not live (before OnLive, after OnLost) Add answers UNAVAILABLE;
// OnLost resets and ends every stream (UNAVAILABLE), since changes may be missed from then on.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/change_listener.h"

namespace larder::server {

struct WatchOptions {
  // Streams open at once, over every namespace (--max-watchers). Default: 4096.
  int64_t max_watchers = 4096;
  // Bytes of events one stream may have waiting to be sent before they are replaced by one
  // reset (--watch-buffer-bytes). Default: 64 KiB.
  int64_t buffer_bytes = int64_t{64} << 10;
};

// One watcher, as the hub sees it. Every method is called with a hub lock held: it must only
// queue, never block or call back into the hub.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // The next change of the namespace, numbered `sequence`.
  virtual void Deliver(uint64_t sequence, storage::ChangeKind kind, absl::string_view subject) = 0;
  // Start over (the first event of a stream, and after changes were missed).
  virtual void Reset(uint64_t sequence) = 0;
  // Sends what is queued, then ends the stream with `status`. Nothing is delivered after it.
  virtual void End(absl::Status status) = 0;
};

// Counters for larder_watch_* (server/metrics/watch_metrics.h).
struct WatchCounters {
  std::atomic<int64_t> events{0};            // Changes delivered to a sink (one per sink).
  std::atomic<int64_t> overflow_resets{0};   // Resets of a sink that fell behind.
  std::atomic<int64_t> lost_resets{0};       // Streams ended because changes may be missed.
  std::atomic<int64_t> refused_limit{0};     // Add refused: max_watchers.
  std::atomic<int64_t> refused_not_live{0};  // Add refused: not live.
};

class WatchHub final : public storage::ChangeListener {
 public:
  static constexpr int kStripes = 16;

  explicit WatchHub(WatchOptions options) : options_(options) {}

  // Registers `sink` for `ns` and resets it (its first event). kResourceExhausted past
  // max_watchers, kUnavailable while not live or after Shutdown.
  absl::Status Add(absl::string_view ns, std::shared_ptr<WatchSink> sink);
  // Unregisters `sink` (a no-op when it is not registered); no call reaches it afterwards.
  void Remove(absl::string_view ns, const WatchSink* sink);

  void OnChange(absl::string_view ns, storage::ChangeKind kind, absl::string_view subject) override;
  void OnLost() override;
  void OnLive() override;
  // Ends every stream (UNAVAILABLE, "shutting down") and refuses new ones: before the gRPC server
  // shuts down, which waits for open streams.
  void Shutdown();

  const WatchOptions& options() const { return options_; }
  bool live() const { return live_.load(); }
  int64_t watchers() const { return watchers_.load(); }
  WatchCounters& counters() { return counters_; }
  const WatchCounters& counters() const { return counters_; }

 private:
  struct Topic {
    uint64_t sequence = 0;
    std::vector<std::shared_ptr<WatchSink>> sinks;
  };
  struct Stripe {
    absl::Mutex mutex;
    absl::flat_hash_map<std::string, Topic> topics ABSL_GUARDED_BY(mutex);
  };

  Stripe& StripeOf(absl::string_view ns);
  // Unregisters every sink; each is reset (when `reset`) and ended with `status`.
  void EndAll(const absl::Status& status, bool reset);

  const WatchOptions options_;
  std::array<Stripe, kStripes> stripes_;
  std::atomic<int64_t> watchers_{0};
  std::atomic<bool> live_{false};
  std::atomic<bool> shut_down_{false};
  WatchCounters counters_;
};

}  // namespace larder::server

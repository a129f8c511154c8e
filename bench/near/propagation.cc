#include "bench/near/propagation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/common/latency_histogram.h"
#include "bench/near/near_client.h"
#include "larder/client.h"
#include "larder/common/status_macros.h"

namespace larder::bench {
namespace {

constexpr absl::Duration kTtl = absl::Minutes(10);
constexpr absl::Duration kPatience = absl::Seconds(10);
// How long the reader may take, after the last acknowledgement, to read every key's last value.
constexpr auto kCatchUp = std::chrono::seconds(2);
// How long the writes' acknowledgements may take after the last one was sent.
constexpr auto kAckWait = std::chrono::seconds(30);

std::string KeyName(int index) { return absl::StrCat("bench:propagation:", index); }

// What both sides recorded, indexed by sequence number: key k first holds sequence number k,
// then write i carries sequence number keys + i, to key (keys + i) % keys.
struct Timeline {
  Timeline(int keys, int64_t writes)
      : size(keys + writes),
        acked(static_cast<size_t>(size)),
        seen(static_cast<size_t>(size)),
        last_seen(static_cast<size_t>(keys)) {}

  const int64_t size;
  // Steady-clock nanoseconds of each Set's acknowledgement; 0: none yet, -1: it failed.
  std::vector<std::atomic<int64_t>> acked;
  // When the reader first read each sequence number; 0: never. Written by the reader only.
  std::vector<int64_t> seen;
  // Per key, the highest sequence number the reader read.
  std::vector<std::atomic<int64_t>> last_seen;
  std::atomic<int64_t> inflight{0};
};

// Reads every key in turn, as fast as it can, on its own thread until Stop().
class Reader {
 public:
  Reader(Client& client, const PropagationOptions& options, Timeline& timeline)
      : client_(client), options_(options), timeline_(timeline) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int64_t gets() const { return gets_; }
  int64_t errors() const { return errors_; }
  // The Gets the near cache did not answer (sent to larderd), by duration.
  const LatencyHistogram& refetches() const { return refetches_; }

 private:
  void Run() {
    while (!stop_.load(std::memory_order_relaxed)) {
      for (int k = 0; k < options_.keys; ++k) ReadKey(k);
    }
  }

  void ReadKey(int k) {
    const double near_before = NearHits(client_);
    const int64_t start = SteadyNanos();
    absl::StatusOr<GetResult> got = client_.Get(options_.ns, KeyName(k));
    const int64_t end = SteadyNanos();
    ++gets_;
    if (NearHits(client_) == near_before) refetches_.Record(end - start);
    const int64_t seq = got.ok() && got->found ? SequenceOf(got->value) : -1;
    if (seq < 0 || seq >= timeline_.size) {
      ++errors_;
      return;
    }
    if (seq <= timeline_.last_seen[static_cast<size_t>(k)].load()) return;
    timeline_.seen[static_cast<size_t>(seq)] = end;
    timeline_.last_seen[static_cast<size_t>(k)].store(seq);
  }

  Client& client_;
  const PropagationOptions& options_;
  Timeline& timeline_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int64_t gets_ = 0;  // Read after Stop().
  int64_t errors_ = 0;
  LatencyHistogram refetches_;
};

// Stores every key's first value and waits until the reader's near cache serves each.
absl::Status Prepare(Client& writer, Client& reader, const PropagationOptions& options) {
  SetOptions set;
  set.ttl = kTtl;
  for (int k = 0; k < options.keys; ++k) {
    LARDER_RETURN_IF_ERROR(
        writer.Set(options.ns, KeyName(k), SequencedValue(k, options.value_bytes), set).status());
    if (!WaitUntilNear(reader, options.ns, KeyName(k), kPatience)) {
      return absl::FailedPreconditionError(absl::StrCat("the reader's near cache never served ",
                                                        KeyName(k), ": is the Watch stream live?"));
    }
  }
  return absl::OkStatus();
}

// Sends the writes, open loop at options.rate; returns the seconds it took to send them.
double WriteAll(Client& writer, const PropagationOptions& options,
                const std::shared_ptr<Timeline>& timeline) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t writes = timeline->size - options.keys;
  SetOptions set;
  set.ttl = kTtl;
  for (int64_t i = 0; i < writes; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(
                                              static_cast<double>(i) * 1e9 / options.rate)));
    while (timeline->inflight.load() >= options.max_inflight) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    const int64_t seq = options.keys + i;
    timeline->inflight.fetch_add(1);
    writer.SetAsync(
        options.ns, KeyName(static_cast<int>(seq % options.keys)),
        SequencedValue(seq, options.value_bytes), set,
        [timeline, seq](absl::StatusOr<SetResult> done) {
          timeline->acked[static_cast<size_t>(seq)].store(done.ok() ? SteadyNanos() : -1);
          timeline->inflight.fetch_sub(1);
        });
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Waits until `done` holds or `limit` passes; returns whether it holds.
template <typename Done>
bool WaitFor(Done done, std::chrono::steady_clock::duration limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Per key, the last sequence number that was acknowledged (or its first value). O(writes).
std::vector<int64_t> LastAcked(const Timeline& timeline, int keys) {
  std::vector<int64_t> last(static_cast<size_t>(keys));
  for (int k = 0; k < keys; ++k) last[static_cast<size_t>(k)] = k;
  for (int64_t seq = keys; seq < timeline.size; ++seq) {
    if (timeline.acked[static_cast<size_t>(seq)].load() > 0) {
      last[static_cast<size_t>(seq % keys)] = seq;
    }
  }
  return last;
}

// Keys whose last acknowledged value the reader has not read yet.
int64_t KeysBehind(const Timeline& timeline, const std::vector<int64_t>& last_acked) {
  int64_t behind = 0;
  for (size_t k = 0; k < last_acked.size(); ++k) {
    if (timeline.last_seen[k].load() < last_acked[k]) ++behind;
  }
  return behind;
}

// Per sequence number, when the reader first read it or a later value of its key (0: never).
// The reader records a key's values in increasing order, so that is when it read the first later
// sequence number it read at all. O(writes).
std::vector<int64_t> ReachedAt(const Timeline& timeline, int keys) {
  std::vector<int64_t> reached(static_cast<size_t>(timeline.size), 0);
  std::vector<int64_t> next(static_cast<size_t>(keys), 0);
  for (int64_t seq = timeline.size - 1; seq >= 0; --seq) {
    int64_t& later = next[static_cast<size_t>(seq % keys)];
    if (timeline.seen[static_cast<size_t>(seq)] != 0)
      later = timeline.seen[static_cast<size_t>(seq)];
    reached[static_cast<size_t>(seq)] = later;
  }
  return reached;
}

// Fills the delays and counts of `result` from a finished timeline.
void Summarise(const Timeline& timeline, int keys, PropagationResult& result) {
  const std::vector<int64_t> reached = ReachedAt(timeline, keys);
  LatencyHistogram delays;
  for (int64_t seq = keys; seq < timeline.size; ++seq) {
    const int64_t acked = timeline.acked[static_cast<size_t>(seq)].load();
    if (acked < 0) ++result.write_errors;
    if (acked <= 0 || reached[static_cast<size_t>(seq)] == 0) continue;
    ++result.reached;
    if (timeline.seen[static_cast<size_t>(seq)] == 0) ++result.superseded;
    const int64_t delay = reached[static_cast<size_t>(seq)] - acked;
    if (delay < 0) ++result.reached_before_ack;
    delays.Record(std::max<int64_t>(0, delay));
  }
  result.stale_at_end = KeysBehind(timeline, LastAcked(timeline, keys));
  result.p50_us = delays.PercentileMicros(0.5);
  result.p90_us = delays.PercentileMicros(0.9);
  result.p99_us = delays.PercentileMicros(0.99);
  result.max_us = delays.MaxMicros();
}

}  // namespace

absl::StatusOr<PropagationResult> MeasurePropagation(const PropagationOptions& options) {
  if (options.keys < 1 || options.rate <= 0 || options.max_inflight < 1) {
    return absl::InvalidArgumentError("keys, rate and max_inflight must be positive");
  }
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Client> writer,
                          NewBenchClient(options.target, options.ns, /*near=*/false));
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Client> reader,
                          NewBenchClient(options.target, options.ns, /*near=*/true));
  LARDER_RETURN_IF_ERROR(Prepare(*writer, *reader, options));
  const auto writes = static_cast<int64_t>(options.rate * absl::ToDoubleSeconds(options.duration));
  auto timeline = std::make_shared<Timeline>(options.keys, writes);
  for (int k = 0; k < options.keys; ++k) timeline->last_seen[static_cast<size_t>(k)].store(k);
  PropagationResult result;
  result.writes = writes;
  const double near_before = NearHits(*reader);
  Reader polling(*reader, options, *timeline);
  polling.Start();
  result.write_seconds = WriteAll(*writer, options, timeline);
  const bool acked = WaitFor([&] { return timeline->inflight.load() == 0; }, kAckWait);
  if (acked) {
    const std::vector<int64_t> last_acked = LastAcked(*timeline, options.keys);
    WaitFor([&] { return KeysBehind(*timeline, last_acked) == 0; }, kCatchUp);
  }
  polling.Stop();
  result.reader_gets = polling.gets();
  result.reader_errors = polling.errors();
  result.reader_near_hits = static_cast<int64_t>(NearHits(*reader) - near_before);
  result.refetch_p50_us = polling.refetches().PercentileMicros(0.5);
  result.refetch_p99_us = polling.refetches().PercentileMicros(0.99);
  if (!acked) return absl::DeadlineExceededError("writes still unacknowledged after 30 s");
  Summarise(*timeline, options.keys, result);
  return result;
}

}  // namespace larder::bench

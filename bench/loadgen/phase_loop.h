// PhaseLoop: the pacing of one phase of load (PhaseSpec) on one thread, for the drivers that
// frame their protocol by hand and wait on an epoll set (RedisDriver: a connection per
// operation in flight; H2Driver: an HTTP/2 stream). Closed loop keeps every unit busy, each
// finished operation starting the next; open loop hands idle units out at the phase's rate and
// counts latency from each operation's intended start (no coordinated omission). It records
// what finished and stops at the phase's duration or operation budget; a reply later than the
// duration plus `reply_timeout` fails the phase.
//
//   PhaseLoop<Slot> loop(phase, histogram);
//   auto result = loop.Run(units, timeout, issue, flush, poll);
//   // in poll's reply handling, per finished operation:
//   if (loop.Finish(slot, slot.start_nanos, keys, ok, misses)) issue(slot, loop.last_done());
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "bench/loadgen/load_options.h"

namespace larder::bench {

template <typename Unit>
class PhaseLoop {
 public:
  // Starts an operation on `unit`, its latency counted from `start_nanos`.
  using Issue = absl::FunctionRef<absl::Status(Unit& unit, int64_t start_nanos)>;
  // Sends what Issue queued.
  using Flush = absl::FunctionRef<absl::Status()>;
  // Waits up to `timeout_nanos` for replies and handles them (calling Finish).
  using Poll = absl::FunctionRef<absl::Status(int64_t timeout_nanos)>;

  PhaseLoop(const PhaseSpec& spec, LatencyHistogram& histogram)
      : spec_(spec), histogram_(histogram) {}

  absl::StatusOr<PhaseResult> Run(const std::vector<Unit*>& units, absl::Duration reply_timeout,
                                  Issue issue, Flush flush, Poll poll) {
    budget_ = spec_.max_ops > 0 ? spec_.max_ops : std::numeric_limits<int64_t>::max();
    start_ = last_done_ = NowNanos();
    const int64_t deadline = start_ + absl::ToInt64Nanoseconds(spec_.duration);
    const int64_t hard_stop = deadline + absl::ToInt64Nanoseconds(reply_timeout);
    for (Unit* unit : units) {
      if (open_loop()) {
        idle_.push_back(unit);
      } else if (TakeBudget()) {
        if (absl::Status status = Start(*unit, start_, issue); !status.ok()) return status;
      }
    }
    if (absl::Status status = flush(); !status.ok()) return status;
    for (;;) {
      const int64_t now = NowNanos();
      if (now >= deadline) stopping_ = true;
      if (open_loop() && !stopping_) {
        if (absl::Status status = PaceOpenLoop(now, issue, flush); !status.ok()) return status;
      }
      if (active_ == 0 && (stopping_ || budget_ <= 0)) break;
      if (now > hard_stop) return absl::DeadlineExceededError("replies still outstanding");
      if (absl::Status status = poll(std::max<int64_t>(WaitNanos(now, deadline), 0));
          !status.ok()) {
        return status;
      }
    }
    result_.seconds = static_cast<double>(last_done_ - start_) / 1e9;
    return result_;
  }

  // Records a finished operation. True when the caller is to start the unit's next operation
  // at once (closed loop, within the budget; it stays counted as busy), false when the unit is
  // done for now (open loop: back among the idle ones).
  bool Finish(Unit& unit, int64_t start_nanos, int64_t keys, bool ok, int64_t misses) {
    const int64_t now = NowNanos();
    if (spec_.record) {
      histogram_.Record(now - start_nanos);
      ++result_.ops;
      result_.keys += keys;
      result_.errors += ok ? 0 : 1;
      result_.misses += misses;
    }
    last_done_ = now;
    if (!open_loop() && !stopping_ && TakeBudget()) return true;
    --active_;
    if (open_loop()) idle_.push_back(&unit);
    return false;
  }

  int64_t last_done() const { return last_done_; }

 private:
  bool open_loop() const { return spec_.rate > 0; }
  bool TakeBudget() { return budget_ > 0 && budget_-- > 0; }

  absl::Status Start(Unit& unit, int64_t start_nanos, Issue issue) {
    ++active_;
    return issue(unit, start_nanos);
  }

  int64_t IntendedStart(int64_t n) const {
    return start_ + static_cast<int64_t>(1e9 / spec_.rate * static_cast<double>(n));
  }

  absl::Status PaceOpenLoop(int64_t now, Issue issue, Flush flush) {
    while (IntendedStart(sent_) <= now && !idle_.empty()) {
      if (!TakeBudget()) {
        stopping_ = true;
        break;
      }
      Unit* unit = idle_.back();
      idle_.pop_back();
      if (absl::Status status = Start(*unit, IntendedStart(sent_++), issue); !status.ok()) {
        return status;
      }
    }
    return flush();
  }

  // Until the next reply, the next open-loop start or the deadline, at most 100 ms.
  int64_t WaitNanos(int64_t now, int64_t deadline) const {
    if (stopping_) return 10'000'000;
    int64_t wait = std::min<int64_t>(deadline - now, 100'000'000);
    if (open_loop() && !idle_.empty()) wait = std::min(wait, IntendedStart(sent_) - now);
    return wait;
  }

  const PhaseSpec& spec_;
  LatencyHistogram& histogram_;
  PhaseResult result_;
  int64_t start_ = 0;
  int64_t last_done_ = 0;
  int64_t budget_ = 0;
  int64_t sent_ = 0;  // Open loop: operations handed out so far.
  bool stopping_ = false;
  int active_ = 0;
  std::vector<Unit*> idle_;
};

}  // namespace larder::bench

// The stale-set checker of the lease end-to-end tests: a recorded history of Gets and
// invalidations of a cache, and the rule a lease must uphold — once an invalidation of a key has
// completed, no Get of that key that starts afterwards returns the value the database held
// before it (a computation that read the old value and stored it late would break this).
//
//   std::vector<HistoryEvent> history;
//   history.push_back(HistoryEvent::Invalidation("k1", began, ended, "v1"));
//   history.push_back(HistoryEvent::Get("k1", began2, ended2, "v1"));
//   std::vector<StaleRead> stale = FindStaleReads(history);   // one: the Get saw v1 too late
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace larder::testing {

struct HistoryEvent {
  enum class Kind { kGet, kInvalidation };

  // A Get that ran from `start` to `end` and found `value` (nullopt: a miss).
  static HistoryEvent Get(std::string key, absl::Time start, absl::Time end,
                          std::optional<std::string> value) {
    return {Kind::kGet, std::move(key), start, end, std::move(value)};
  }
  // The database's value of `key` changed from `superseded` and the key was invalidated
  // (Delete, Invalidate by tag, prefix…): the call ran from `start` to `end`.
  static HistoryEvent Invalidation(std::string key, absl::Time start, absl::Time end,
                                   std::string superseded) {
    return {Kind::kInvalidation, std::move(key), start, end, std::move(superseded)};
  }

  Kind kind;
  std::string key;
  absl::Time start;
  absl::Time end;
  // kGet: what the Get returned; kInvalidation: the database value it superseded.
  std::optional<std::string> value;
};

// A Get that returned a superseded value although it started after the invalidation ended.
struct StaleRead {
  std::string key;
  std::string value;
  absl::Duration after_invalidation;  // Get start - invalidation end.
};

// Every stale read of `history`, in history order. O(gets * invalidations of the same key).
std::vector<StaleRead> FindStaleReads(const std::vector<HistoryEvent>& history);

}  // namespace larder::testing

// Coalescer: lets concurrent misses of one key share a single handler run.
//
//   Coalescer::Ticket ticket = coalescer.Join(key, /*may_lead=*/true);
//   if (ticket.leader) { …render…; coalescer.Land(key, ticket.flight, stored, revalidated); }
//   else if (ticket.flight) { auto shared = ticket.flight->Wait(); }
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "larder/http/response.h"

namespace larder::http::internal {

// One in-flight render. Thread-safe.
class Flight {
 public:
  // Publishes the leader's stored response, or nullopt when nothing was stored (the handler
  // failed or the response may not be shared): followers then render for themselves.
  // `revalidated`: the leader's render was a revalidation answered 304 (render.h), so followers
  // are answered with the stored response it validated.
  void Finish(std::optional<StoredResponse> result, bool revalidated);
  // Blocks until Finish.
  std::optional<StoredResponse> Wait();
  // After Wait: whether the published response was revalidated.
  bool revalidated();

 private:
  absl::Mutex mutex_;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  bool revalidated_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<StoredResponse> result_ ABSL_GUARDED_BY(mutex_);
};

// Thread-safe.
class Coalescer {
 public:
  struct Ticket {
    std::shared_ptr<Flight> flight;  // Null: no flight to join and not allowed to lead.
    bool leader = false;
  };

  // Joins the flight of `key`, or starts one (as leader) when none runs and `may_lead`.
  Ticket Join(const std::string& key, bool may_lead);
  // The leader's last act: finishes the flight and forgets it, so later misses start anew.
  // A revalidation (of a stale or a no-cache stored response) coalesces like any miss.
  void Land(const std::string& key, const std::shared_ptr<Flight>& flight,
            std::optional<StoredResponse> result, bool revalidated = false);

 private:
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mutex_);
};

// Finishes the coalesced flight of a leader exactly once, even when the handler throws. A null
// flight (not a leader) does nothing.
class LeaderGuard {
 public:
  LeaderGuard(Coalescer* coalescer, std::string key, std::shared_ptr<Flight> flight)
      : coalescer_(coalescer), key_(std::move(key)), flight_(std::move(flight)) {}
  ~LeaderGuard() { Land(std::nullopt); }
  LeaderGuard(const LeaderGuard&) = delete;
  LeaderGuard& operator=(const LeaderGuard&) = delete;
  void Land(std::optional<StoredResponse> result, bool revalidated = false) {
    if (flight_ == nullptr) return;
    coalescer_->Land(key_, flight_, std::move(result), revalidated);
    flight_ = nullptr;
  }

 private:
  Coalescer* coalescer_;
  std::string key_;
  std::shared_ptr<Flight> flight_;
};

}  // namespace larder::http::internal

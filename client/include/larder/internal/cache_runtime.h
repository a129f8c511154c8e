// CacheRuntime: the compiled, type-independent half of a cached function — option validation,
// lookups (through leases when fleet_single_flight is on), the wait for another caller's lease,
// stores, freshness, metrics and the log of failures over encoded bytes. The template in
// larder/cached.h adds coders, keys and single-flight on top. Not part of the stable API.
//
//   CacheRuntime runtime(client, options);
//   if (!runtime.validation().ok()) { runtime.RecordError(runtime.validation()); … call fn … }
//   Found found = runtime.Lookup(key);          // kHit / kStale carry the coder's bytes
//   if (found.wait) found = runtime.AwaitLease(key, std::move(found), try_to_serve_stale);
//   absl::Status stored = runtime.Store(key, encoded_result, found.lease_token);
#pragma once

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/cached_options.h"
#include "larder/client.h"
#include "larder/wait_clock.h"

namespace larder::client::internal {
class RateLimitedLog;
}  // namespace larder::client::internal

namespace larder::internal {

// What a lookup found.
struct Found {
  // kHit (fresh), kStale (inside the stale-while-revalidate window), kMiss, or kError (larder
  // failed: the caller computes the value and skips storing it).
  LookupResult result = LookupResult::kMiss;
  // The coder's bytes, for kHit and kStale.
  std::string payload;
  // For kError: why (the code labels larder_client_lookup_errors_total).
  absl::Status error;
  // A kMiss through a lease this caller now holds: store with it.
  std::string lease_token;
  // A kMiss while another caller holds the key's lease: wait for it (AwaitLease).
  bool wait = false;
  // With wait: `payload` holds the coder's bytes of the value larderd kept from before.
  bool has_stale = false;
};

// Thread-safe. Never throws; larder failures become kError and a skipped store.
class CacheRuntime {
 public:
  // A null client means caching is off. Validates `options` (ValidateCachedOptions).
  CacheRuntime(std::shared_ptr<Client> client, CachedOptions options);
  ~CacheRuntime();
  CacheRuntime(const CacheRuntime&) = delete;
  CacheRuntime& operator=(const CacheRuntime&) = delete;

  // True when calls should consult larder at all (and be counted).
  bool caching() const { return client_ != nullptr && options_.enabled; }
  // OK, or why the options are invalid: then every call goes straight to the function and is
  // counted as an error.
  const absl::Status& validation() const { return validation_; }
  const CachedOptions& options() const { return options_; }
  const std::shared_ptr<Client>& client() const { return client_; }

  // One Lease when fleet_single_flight is on and the client has not learnt that larderd has no
  // leases (then, and otherwise, one Get). An unreadable stored envelope counts as a coder
  // error and a miss. Counts a granted lease.
  Found Lookup(absl::string_view key) const;
  // Waits while another caller holds the lease of `key` (`found.wait`): offers each stale value
  // to `serve_stale` (which returns true when it decoded and will serve it: then the result is
  // kStale), else polls with Lookup after a jittered backoff (5 ms doubling to 100 ms) on the
  // wait clock, until the lease's value, a lease of this caller's own, an error or no lease at
  // all; once lease_wait has passed, a kMiss without a token (fail-open). When the client
  // near-caches the namespace and its Watch stream is live, a change of the key (or of the
  // namespace) ends a pause at once, and the fallback pauses grow to 500 ms instead (LeaseWait,
  // client/src/key_waiters.h). The result never has `wait`. Counts waited, served_stale,
  // wait_timeout and woken_by_watch.
  Found AwaitLease(absl::string_view key, Found found,
                   absl::FunctionRef<bool(absl::string_view payload)> serve_stale) const;
  // Stores `payload` with its fresh-until time, TTL (ttl + stale window) and tags, with
  // `lease_token` when not empty; returns the Set's status (a refusal such as a ttl above
  // --max-ttl, or an outage). A lease larderd no longer honours is not an error: the refusal is
  // counted as stale_set_prevented.
  absl::Status Store(absl::string_view key, absl::string_view payload,
                     absl::string_view lease_token = "") const;
  // kFailedPrecondition without a client, else validation().
  absl::Status CheckUsable() const;
  // Deletes the entry of `key` (for writers after an update); CheckUsable's errors first.
  absl::Status Invalidate(absl::string_view key) const;

  // Counts a lookup that ended in `result` (for kError without a status: code UNKNOWN).
  void RecordLookup(LookupResult result) const;
  // Counts an `error` lookup under `why`'s code and logs `why` at most once a minute per code.
  void RecordError(const absl::Status& why) const;
  // RecordError(error) for kError, else RecordLookup(result).
  void RecordOutcome(LookupResult result, const absl::Status& error) const;
  void RecordSingleFlightWait() const;
  // Counts a value the coder could not decode (a stored one: treated as a miss) or encode (a
  // result: returned, not stored), and logs `why` at most once a minute per step.
  enum class CoderStep { kDecode, kEncode };
  void RecordCoderError(CoderStep step, const absl::Status& why) const;
  void RecordLease(LeaseEvent event) const;

 private:
  // The verdict on what a Get or a Lease found live (or not found).
  Found FromEntry(const GetResult& entry) const;
  // The verdict on a Lease's answer.
  Found FromLease(absl::StatusOr<LeaseResult> leased) const;
  const WaitClock& wait_clock() const;
  // Whether the client keeps a near cache (and its Watch stream) of the namespace.
  bool NearCached() const;

  std::shared_ptr<Client> client_;
  CachedOptions options_;
  absl::Status validation_;
  // The namespace, or "_invalid" for one larderd would refuse.
  std::string metric_namespace_;
  std::unique_ptr<client::internal::RateLimitedLog> log_;
};

}  // namespace larder::internal

// CacheRuntime: the compiled, type-independent half of a cached function — option validation,
// lookups, stores, freshness, metrics and the log of failures over encoded bytes. The template
// in larder/cached.h adds coders, keys and single-flight on top. Not part of the stable API.
//
//   CacheRuntime runtime(client, options);
//   if (!runtime.validation().ok()) { runtime.RecordError(runtime.validation()); … call fn … }
//   Found found = runtime.Lookup(key);          // kHit / kStale carry the coder's bytes
//   absl::Status stored = runtime.Store(key, encoded_result);
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "larder/cached_options.h"
#include "larder/client.h"

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

  // One Get; an unreadable stored envelope counts as a coder error and a miss.
  Found Lookup(absl::string_view key) const;
  // Stores `payload` with its fresh-until time, TTL (ttl + stale window) and tags; returns the
  // Set's status (a refusal such as a ttl above --max-ttl, or an outage).
  absl::Status Store(absl::string_view key, absl::string_view payload) const;
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
  void RecordCoderError() const;

 private:
  std::shared_ptr<Client> client_;
  CachedOptions options_;
  absl::Status validation_;
  // The namespace, or "_invalid" for one larderd would refuse.
  std::string metric_namespace_;
  std::unique_ptr<client::internal::RateLimitedLog> log_;
};

}  // namespace larder::internal

// CacheRuntime: the compiled, type-independent half of a cached function — lookups, stores,
// freshness and metrics over encoded bytes. The template in larder/cached.h adds coders, keys
// and single-flight on top. Not part of the stable API.
//
//   CacheRuntime runtime(client, options);
//   Found found = runtime.Lookup(key);          // kHit / kStale carry the coder's bytes
//   runtime.Store(key, encoded_result);
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "larder/cached_options.h"
#include "larder/client.h"

namespace larder::internal {

// What a lookup found.
struct Found {
  // kHit (fresh), kStale (inside the stale-while-revalidate window), kMiss, or kError (larder
  // failed: the caller computes the value and skips storing it).
  LookupResult result = LookupResult::kMiss;
  // The coder's bytes, for kHit and kStale.
  std::string payload;
};

// Thread-safe. Never throws; larder failures become kError and a skipped store.
class CacheRuntime {
 public:
  // A null client means caching is off.
  CacheRuntime(std::shared_ptr<Client> client, CachedOptions options);

  // True when calls should consult larder at all.
  bool caching() const { return client_ != nullptr && options_.enabled; }
  const CachedOptions& options() const { return options_; }
  const std::shared_ptr<Client>& client() const { return client_; }

  // One Get; an unreadable stored envelope counts as a coder error and a miss.
  Found Lookup(absl::string_view key) const;
  // Stores `payload` with its fresh-until time, TTL (ttl + stale window) and tags. Failures
  // are left to the client's RPC metrics: the value was already computed.
  void Store(absl::string_view key, absl::string_view payload) const;
  // Deletes the entry of `key` (for writers after an update).
  absl::Status Invalidate(absl::string_view key) const;

  void RecordLookup(LookupResult result) const;
  void RecordSingleFlightWait() const;
  void RecordCoderError() const;

 private:
  std::shared_ptr<Client> client_;
  CachedOptions options_;
};

}  // namespace larder::internal

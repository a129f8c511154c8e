// ResponseStore: where the HTTP caching layer keeps responses. A small interface of this layer
// so the pipeline is tested without a server; NewLarderResponseStore (larder_response_store.h)
// is the implementation over larder::Client.
//
//   std::shared_ptr<ResponseStore> store = larder::http::NewLarderResponseStore(client);
//   auto stored = store->Lookup("items", key);   // OK and nullopt on a miss
//   store->Store("items", key, response, absl::Seconds(35), {"items", "path:/items/7"});
//
// Fleet-wide single flight (optional): Lease asks the backend who renders a missing key across
// processes; the holder stores with StoreLeased. Stores without leases keep the defaults.
//
//   auto lease = store->Lease("items", key, absl::Seconds(5));
//   if (lease.ok() && lease->state == StoreLease::State::kGranted) {
//     store->StoreLeased("items", key, response, ttl, tags, lease->token);  // false: refused
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/response.h"

namespace larder::http {

// What ResponseStore::Lease answered for a key.
struct StoreLease {
  enum class State {
    kNone,     // No coordination: leases unsupported, or the backend holds too many.
    kGranted,  // This caller renders; store with StoreLeased(token).
    kWait,     // Another caller (any process) holds the lease: wait for its stored response.
    kLive,     // An entry is stored under the key (perhaps another variant): look it up.
  };
  State state = State::kNone;
  // kGranted only: the lease's token.
  std::string token;
};

// Implementations are thread-safe. A miss is OK with nullopt, never an error; an unreachable
// or failing backend is kUnavailable (or kDeadlineExceeded), a refusing one kUnauthenticated or
// kPermissionDenied; a stored value that cannot be decoded is kDataLoss. The pipeline treats
// kDataLoss, and any record it finds unsafe to replay, as a miss whose render replaces the
// record; every other error as "cache unavailable", serving the handler's response (fail-open).
class ResponseStore {
 public:
  virtual ~ResponseStore() = default;

  // Why a lookup is made: kServe counts it in the client's hit/miss metrics by what it found;
  // kRecheck counts nothing. HttpCache reads with kRecheck and counts each request once, by what
  // answers it, with RecordLookup: under Vary the record at the URL's key may be another
  // variant's, so the first read alone does not say whether the request hits.
  enum class LookupPurpose { kServe, kRecheck };

  // The response stored under (namespace, key), if any.
  virtual absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view cache_namespace,
                                                               absl::string_view key,
                                                               LookupPurpose purpose) = 0;

  // Counts a request's lookup, as Lookup(kServe) would have counted `outcome` had one read found
  // it: a fresh record a hit, a stale one stale, none or kDataLoss (a record that cannot be
  // decoded or replayed) a miss, any other error a lookup error. Default: counts nothing.
  virtual void RecordLookup(absl::string_view cache_namespace,
                            const absl::StatusOr<std::optional<StoredResponse>>& outcome) {
    (void)cache_namespace, (void)outcome;
  }

  // The response stored under (namespace, key) when this process holds a copy it may answer
  // from at once, without I/O or waiting (a coherent near cache); nullopt when it holds none or
  // cannot decode it, which says nothing of the store: Lookup then asks it. Counts nothing (see
  // RecordHeldHit). Default: nullopt, nothing is held.
  virtual std::optional<StoredResponse> LookupHeld(absl::string_view cache_namespace,
                                                   absl::string_view key) {
    (void)cache_namespace, (void)key;
    return std::nullopt;
  }

  // Counts a request answered from LookupHeld (or from DecodeFetched) as a fresh hit, as
  // RecordLookup counts one.
  virtual void RecordHeldHit(absl::string_view cache_namespace) { (void)cache_namespace; }

  // The response in `value`, an entry's value as the store wrote it and as the caller read it
  // from the store itself (HttpCache::HandleFetched: many requests' records in one batched read);
  // nullopt when it is not one this store can decode, which Lookup then counts. Counts nothing.
  // Default: nullopt, nothing is decoded.
  virtual std::optional<StoredResponse> DecodeFetched(absl::string_view value) {
    (void)value;
    return std::nullopt;
  }

  // Stores `response` for `ttl` (how long the backend keeps it: freshness plus stale windows)
  // with `tags`, replacing what was there.
  virtual absl::Status Store(absl::string_view cache_namespace, absl::string_view key,
                             const StoredResponse& response, absl::Duration ttl,
                             const std::vector<std::string>& tags) = 0;

  // Fleet-wide single flight over the backend's leases (docs/http.md): on a miss, one caller
  // across processes holds the lease of (namespace, key) for `lease_ttl` and renders; the others
  // are told to wait. Errors as Lookup's. Default: kNone (no leases), so a store without leases
  // keeps the behaviour of today. One backend call.
  virtual absl::StatusOr<StoreLease> Lease(absl::string_view cache_namespace, absl::string_view key,
                                           absl::Duration lease_ttl) {
    (void)cache_namespace, (void)key, (void)lease_ttl;
    return StoreLease{};
  }

  // Store with the token of a granted Lease: true when stored; false (not an error) when the
  // lease is no longer current (voided by another write, a delete, an invalidation of the
  // namespace, or expired), and then nothing is stored. Default: a store whose Lease never
  // grants a token ignores it and calls Store.
  virtual absl::StatusOr<bool> StoreLeased(absl::string_view cache_namespace, absl::string_view key,
                                           const StoredResponse& response, absl::Duration ttl,
                                           const std::vector<std::string>& tags,
                                           absl::string_view lease_token) {
    (void)lease_token;
    absl::Status stored = Store(cache_namespace, key, response, ttl, tags);
    if (!stored.ok()) return stored;
    return true;
  }

  // Gives up a granted lease that will not be used (the render was not stored), so waiters
  // need not wait for it to expire. It removes the key's entry, which a current lease implies
  // is absent. Default: nothing to release.
  virtual absl::Status ReleaseLease(absl::string_view cache_namespace, absl::string_view key,
                                    absl::string_view lease_token) {
    (void)cache_namespace, (void)key, (void)lease_token;
    return absl::OkStatus();
  }

  // Removes the namespace's entries carrying `tag`; returns how many.
  virtual absl::StatusOr<int64_t> InvalidateTag(absl::string_view cache_namespace,
                                                absl::string_view tag) = 0;

  // Removes the namespace's entries whose key starts with `prefix` (every entry when empty).
  virtual absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view cache_namespace,
                                                   absl::string_view prefix) = 0;
};

}  // namespace larder::http

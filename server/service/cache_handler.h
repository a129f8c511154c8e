// CacheHandler: what larderd does with each larder.v1 request, independent of gRPC. It validates
// input (nothing invalid reaches storage), applies TTL defaults and limits, computes ETags,
// evaluates If-None-Match, counts hits and misses, and calls one StorageEngine.
//
//   CacheHandler handler(*engine, Clock::Real(), CacheHandlerOptions{.default_ttl = ...});
//   v1::GetResponse response;
//   absl::Status status = handler.Get(request, response);
//
// Thread-safe (the engine is, and the handler keeps only atomic counters). Every method returns
// kInvalidArgument naming the field and limit for bad input (storage untouched), the engine's
// code when it fails (kUnavailable, kDataLoss, kInternal), kResourceExhausted when a response
// would pass max_response_bytes, and OK for a miss. Every limit is in larder/common/limits.h.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "larder/common/clock.h"
#include "larder/common/limits.h"
#include "larder/common/log_rate_limiter.h"
#include "larder/v1/cache.pb.h"
#include "server/service/namespace_stats.h"
#include "server/storage/storage_engine.h"

namespace larder::server {

// What Lease calls and lease-token Sets came to, for metrics. Lock-free.
struct LeaseCounters {
  std::atomic<uint64_t> granted{0};     // A miss got a new lease.
  std::atomic<uint64_t> waited{0};      // A miss found another caller's lease.
  std::atomic<uint64_t> stale{0};       // ...and was offered the stale value.
  std::atomic<uint64_t> table_full{0};  // A miss got neither (too many leases outstanding).
  std::atomic<uint64_t> filled{0};      // A Set with a current lease stored.
  std::atomic<uint64_t> refused{0};     // A Set with an ended or voided lease did not.
  std::atomic<uint64_t> ended{0};       // A Set refused for bad input ended its current lease.
  std::atomic<uint64_t> end_failed{0};  // ...or could not: the engine failed.
};

// Namespaces a page of the Namespaces RPC holds at most, and when page_size is 0.
inline constexpr int kMaxNamespacesPageSize = 1000;
inline constexpr int kDefaultNamespacesPageSize = 100;

struct CacheHandlerOptions {
  // TTL of a Set or Touch without one; zero means such entries never expire. Default: none.
  absl::Duration default_ttl = absl::ZeroDuration();
  // The largest TTL a request may ask for; zero means no limit. Default: none.
  absl::Duration max_ttl = absl::ZeroDuration();
  // The largest value a Set may store. Default: 8 MiB.
  int64_t max_value_bytes = limits::kDefaultMaxValueBytes;
  // The largest MultiGet response (values, ETags and framing). Default: 64 MiB.
  int64_t max_response_bytes = limits::kDefaultMaxResponseBytes;
  // Namespaces with hit/miss counters of their own. Default: 10000.
  size_t max_tracked_namespaces = 10000;
};

class CacheHandler {
 public:
  CacheHandler(storage::StorageEngine& engine, const Clock& clock, CacheHandlerOptions options);

  absl::Status Get(const v1::GetRequest& request, v1::GetResponse& response);
  // What GetAsync calls back with: Get's status.
  using Done = absl::AnyInvocable<void(const absl::Status&) &&>;
  // Get without blocking, when the engine can (StorageEngine::GetAsync): `done` runs once, maybe
  // on an engine thread; `request` and `response` must live until then. False, leaving `done`
  // untouched, when the engine cannot now: call Get where it may block.
  bool GetAsync(const v1::GetRequest& request, v1::GetResponse& response, Done& done);
  absl::Status Set(const v1::SetRequest& request, v1::SetResponse& response);
  absl::Status Delete(const v1::DeleteRequest& request, v1::DeleteResponse& response);
  absl::Status Touch(const v1::TouchRequest& request, v1::TouchResponse& response);
  absl::Status MultiGet(const v1::MultiGetRequest& request, v1::MultiGetResponse& response);
  // MultiGet's GetAsync, for batches of at most 16 distinct keys (larger ones: false).
  bool MultiGetAsync(const v1::MultiGetRequest& request, v1::MultiGetResponse& response,
                     Done& done);
  absl::Status MultiSet(const v1::MultiSetRequest& request, v1::MultiSetResponse& response);
  absl::Status Invalidate(const v1::InvalidateRequest& request, v1::InvalidateResponse& response);
  absl::Status Stats(const v1::StatsRequest& request, v1::StatsResponse& response);
  absl::Status Lease(const v1::LeaseRequest& request, v1::LeaseResponse& response);
  // kInvalidArgument for a page_size outside 0-kMaxNamespacesPageSize or a page_token that is
  // not a namespace name; kUnimplemented when the engine cannot list.
  absl::Status Namespaces(const v1::NamespacesRequest& request, v1::NamespacesResponse& response);

  // Forgets the hit/miss counters of up to `max_checks` namespaces that were idle since the
  // previous call and hold no entries (one engine Stats call each). Run off gRPC's threads.
  void ForgetIdleNamespaces(size_t max_checks);

  const NamespaceStats& namespace_stats() const { return namespace_stats_; }
  const LeaseCounters& lease_counters() const { return lease_counters_; }
  storage::StorageEngine& engine() { return engine_; }

 private:
  // A validated MultiGet: each distinct key is read once; request key i is distinct[slot[i]],
  // and uses[d] counts the request keys that are distinct[d].
  struct MultiGetPlan {
    std::vector<absl::string_view> distinct;
    std::vector<int> uses;
    std::vector<int> slot;
  };
  absl::StatusOr<MultiGetPlan> PlanMultiGet(const v1::MultiGetRequest& request) const;
  // Answers each request key from `entries` (by distinct key; consumes them and plan.uses).
  void FillMultiGetResponse(const v1::MultiGetRequest& request, MultiGetPlan& plan,
                            std::vector<std::optional<storage::StoredEntry>>& entries,
                            v1::MultiGetResponse& response);
  // kResourceExhausted when `response_bytes` plus `uses[i]` copies of each entry passes
  // max_response_bytes.
  absl::Status CheckResponseBytes(const std::vector<std::optional<storage::StoredEntry>>& entries,
                                  const std::vector<int>& uses, int64_t response_bytes) const;
  // Checks one SetRequest (field names prefixed with `field_prefix`, e.g. "entries[3].").
  absl::Status ValidateSet(const v1::SetRequest& request, absl::string_view ns,
                           absl::string_view field_prefix) const;
  // The engine's view of a validated SetRequest (views into `request`).
  storage::SetItem ItemFor(const v1::SetRequest& request) const;
  // Reads the distinct `keys` in chunks; kResourceExhausted, naming the size the response would
  // have reached, when `uses[i]` copies of each entry would pass max_response_bytes.
  absl::StatusOr<std::vector<std::optional<storage::StoredEntry>>> ReadWithinResponseLimit(
      absl::string_view ns, const std::vector<absl::string_view>& keys,
      const std::vector<int>& uses);
  // Fills a GetResponse from an engine lookup (the caller counts the hit or miss).
  static void FillGetResponse(std::optional<storage::StoredEntry> entry,
                              absl::string_view if_none_match, absl::Time now,
                              v1::GetResponse& response);
  absl::Time ExpiryFor(absl::Duration ttl) const;
  // Checks a SetRequest's lease_token: its size, that it is alone, and Set only.
  static absl::Status ValidateLeaseToken(const v1::SetRequest& request,
                                         absl::string_view field_prefix);
  // Counts what a Set with a lease token came to.
  void CountLeaseSet(const v1::SetRequest& request, bool stored);
  // A Set refused for bad input still ends the lease its token names (StorageEngine::EndLease),
  // so that the key's waiters are granted a new lease at once, not when this one expires.
  void EndLeaseOfRefusedSet(const v1::SetRequest& request);

  storage::StorageEngine& engine_;
  const Clock& clock_;
  const CacheHandlerOptions options_;
  NamespaceStats namespace_stats_;
  LeaseCounters lease_counters_;
  LogRateLimiter end_lease_log_limiter_{clock_, absl::Seconds(30)};
};

}  // namespace larder::server

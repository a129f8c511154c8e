// ClientMetrics: the larder_client_* Prometheus metrics of one client, and the process-wide
// default registry they land in when ClientOptions::metrics_registry is null.
//
//   prometheus::Exposer exposer("0.0.0.0:9464");
//   exposer.RegisterCollectable(larder::DefaultMetricsRegistry());
//   client->metrics().RecordLookup("pages", larder::LookupResult::kStale);  // an HTTP layer
//
// Families (all counters but the histogram):
//   larder_client_requests_total{namespace,result}   cache lookups: hit, miss, stale, error
//   larder_client_lookup_errors_total{namespace,code} the `error` lookups by status code name:
//                                                     the server's refusal (INVALID_ARGUMENT,
//                                                     OUT_OF_RANGE, PERMISSION_DENIED, …), an
//                                                     outage (UNAVAILABLE, DEADLINE_EXCEEDED),
//                                                     RESOURCE_EXHAUSTED for a response over
//                                                     the receive limit, INVALID_ARGUMENT for a
//                                                     cached function's invalid options
//   larder_client_request_duration_seconds{method}    one observation per RPC, retries included
//   larder_client_rpcs_total{method,code}             finished RPCs by gRPC status code name
//   larder_client_denied_total{namespace,code}        RPCs refused by larderd's access control:
//                                                     UNAUTHENTICATED, PERMISSION_DENIED
//   larder_client_retries_total                       retry attempts started
//   larder_client_singleflight_waits_total            calls that joined another's lookup
//   larder_client_coder_errors_total                  values that failed to encode or decode
//   larder_client_leases_total{namespace,result}      cached-function calls through leases:
//                                                     granted, waited, served_stale,
//                                                     stale_set_prevented, wait_timeout,
//                                                     woken_by_watch (see LeaseEvent)
//   larder_client_near_cache_lookups_total{result}    near-cache lookups: hit, miss
//   larder_client_near_cache_evictions_total          near-cache entries evicted for room
//   larder_client_near_cache_resets_total             namespaces reset or lost by the near
//                                                     cache (each drops their entries)
//   larder_client_near_cache_refused_installs_total   fetched values not installed because an
//                                                     invalidation or reset overtook their Get
//   larder_client_near_cache_bytes (gauge)            bytes charged by near-cache entries
//   larder_client_near_cache_entries (gauge)          near-cache entries
// The near-cache series have no labels: every client on a registry adds to the same ones.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace larder {

// How a cache lookup ended, from the caller's point of view.
enum class LookupResult {
  kHit,    // A fresh value was served.
  kMiss,   // Nothing usable was stored; the value was computed.
  kStale,  // A value past its freshness was served while it is refreshed.
  kError,  // larder failed (unreachable, deadline, bad input, access denied); the value was
           // computed. A denial is also counted in larder_client_denied_total.
};

// What happened to a cached function's call through a lease (fleet-wide single flight).
enum class LeaseEvent {
  kGranted,            // This call got the key's lease: it computes, then stores with the token.
  kWaited,             // Another caller (any process) held the lease: this call waited for it.
  kServedStale,        // While waiting, the key's previous value kept by the server was served.
  kStaleSetPrevented,  // A store with a lease the server no longer honoured (voided by a write,
                       // Delete or Invalidate, or expired) was refused; the value was returned.
  kWaitTimedOut,       // CachedOptions::lease_wait passed: the call computed without a lease.
  kWokenByWatch,       // While waiting, the near cache's Watch stream reported a change of the
                       // key (or of its namespace) and the call polled at once instead of at
                       // the end of its pause. At most once per call.
};

// The series of the client's near cache, which updates them itself. From
// ClientMetrics::near_cache() every pointer is set and valid as long as that ClientMetrics.
struct NearCacheMetrics {
  prometheus::Counter* hits = nullptr;
  prometheus::Counter* misses = nullptr;
  prometheus::Counter* evictions = nullptr;
  prometheus::Counter* resets = nullptr;
  prometheus::Counter* refused_installs = nullptr;
  prometheus::Gauge* bytes = nullptr;    // Moved by deltas, so clients can share it.
  prometheus::Gauge* entries = nullptr;  // Moved by deltas, so clients can share it.
};

// The registry used by clients created without ClientOptions::metrics_registry. Never null;
// the same object for the whole process.
std::shared_ptr<prometheus::Registry> DefaultMetricsRegistry();

// The metric families of one client. Thread-safe. Obtained from Client::metrics().
class ClientMetrics {
 public:
  // Registers the families on `registry` (reusing them when another client already did).
  // kInvalidArgument when the registry holds a conflicting family of the same name.
  static absl::StatusOr<std::unique_ptr<ClientMetrics>> Create(
      std::shared_ptr<prometheus::Registry> registry, int max_namespaces);
  ~ClientMetrics();
  ClientMetrics(const ClientMetrics&) = delete;
  ClientMetrics& operator=(const ClientMetrics&) = delete;

  // Counts one lookup of `namespace_name`. Client::Get and MultiGet record their own unless
  // told not to (GetOptions::record_lookup); layers that judge freshness themselves (cached
  // functions, an HTTP cache) record here instead.
  void RecordLookup(absl::string_view namespace_name, LookupResult result);
  // Counts one lookup of `namespace_name` that ended in `error` because of `code` (not kOk):
  // in larder_client_requests_total{result="error"} and larder_client_lookup_errors_total.
  void RecordLookupError(absl::string_view namespace_name, absl::StatusCode code);
  void RecordSingleFlightWait();
  void RecordCoderError();
  // Counts one lease event of `namespace_name` (namespaces share RecordLookup's cap).
  void RecordLease(absl::string_view namespace_name, LeaseEvent event);
  // Used by the client itself: one finished RPC of `method` ("Get", "Set", …).
  void RecordRpc(absl::string_view method, absl::string_view code_name, absl::Duration took);
  // Used by the client itself: one RPC on `namespace_name` ("" for a server-wide Stats) that
  // larderd refused with kUnauthenticated or kPermissionDenied; other codes are ignored.
  // Namespaces share the cap of RecordLookup's (past it: "other").
  void RecordDenied(absl::string_view namespace_name, absl::StatusCode code);
  void RecordRetry();
  // Used by the client's near cache (client/src/near_cache.h).
  const NearCacheMetrics& near_cache() const;

  const std::shared_ptr<prometheus::Registry>& registry() const;

 private:
  struct Families;
  explicit ClientMetrics(std::unique_ptr<Families> families);
  std::unique_ptr<Families> families_;
};

}  // namespace larder

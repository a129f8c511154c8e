// HttpMetrics: every prometheus-cpp family of the HTTP caching layer, in one place.
//
//   larder_http_responses_total{route,cache}          cache: hit, miss, stale, not_modified, bypass
//   larder_http_store_errors_total{route,operation}   operation: lookup, store, invalidate (a
//                                                     larder call failed, denials included),
//                                                     tags (a response not stored because its
//                                                     route's tags fail ValidateRouteTags),
//                                                     decode (a stored record refused: not
//                                                     decodable or not safe to replay), encode
//                                                     (a render not stored: unsafe headers)
//   larder_http_refreshes_total{route,result}         result: stored, not_stored, failed, skipped
//   larder_http_collapsed_total{route}                requests that waited for another's render
//   larder_http_leases_total{route,result}            fleet-wide single flight: granted, waited,
//                                                     wait_timeout, stale_set_prevented
//
//   auto metrics = HttpMetrics::Create(registry);     // null registry: counts nothing
//   (*metrics)->CountResponse("items", "hit");
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace larder::http::internal {

// Thread-safe. CountResponse, once per request, finds its counter under a shared lock in a map
// of the routes seen, instead of building a label map and locking the family for every request.
class HttpMetrics {
 public:
  // kAlreadyExists / kInvalidArgument when the registry refuses the families (e.g. registered
  // twice with other help texts).
  static absl::StatusOr<std::unique_ptr<HttpMetrics>> Create(
      std::shared_ptr<prometheus::Registry> registry);

  void CountResponse(absl::string_view route, absl::string_view cache);
  void CountStoreError(absl::string_view route, absl::string_view operation);
  void CountRefresh(absl::string_view route, absl::string_view result);
  void CountCollapsed(absl::string_view route);
  void CountLease(absl::string_view route, absl::string_view result);

 private:
  HttpMetrics() = default;

  // The `cache` values CountResponse is called with, in order; others go through the family.
  static constexpr std::array<absl::string_view, 5> kCacheResults = {"hit", "miss", "stale",
                                                                     "not_modified", "bypass"};
  using RouteCounters = std::array<prometheus::Counter*, kCacheResults.size()>;
  // The counter of (route, kCacheResults[result]), made on first use.
  prometheus::Counter& ResponseCounter(absl::string_view route, size_t result);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* responses_ = nullptr;
  prometheus::Family<prometheus::Counter>* store_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* refreshes_ = nullptr;
  prometheus::Family<prometheus::Counter>* collapsed_ = nullptr;
  prometheus::Family<prometheus::Counter>* leases_ = nullptr;
  absl::Mutex response_counters_mutex_;
  absl::flat_hash_map<std::string, RouteCounters> response_counters_
      ABSL_GUARDED_BY(response_counters_mutex_);
};

}  // namespace larder::http::internal

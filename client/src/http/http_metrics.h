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

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace larder::http::internal {

// Thread-safe.
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

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* responses_ = nullptr;
  prometheus::Family<prometheus::Counter>* store_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* refreshes_ = nullptr;
  prometheus::Family<prometheus::Counter>* collapsed_ = nullptr;
  prometheus::Family<prometheus::Counter>* leases_ = nullptr;
};

}  // namespace larder::http::internal

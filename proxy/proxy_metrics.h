// ProxyMetrics: the larder_proxy_* families of larder-proxy, registered in the registry that also
// holds the HTTP cache's larder_http_* and the SDK's larder_client_* (served on /metrics of
// --admin-listen).
//
//   auto metrics = larder::proxy::ProxyMetrics::Create(registry);
//   (*metrics)->CountRequest("items", "GET", "hit");
//   (*metrics)->ObserveUpstream("items", absl::Milliseconds(12));
#pragma once

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
template <typename T>
class Family;
class Histogram;
class Registry;
}  // namespace prometheus

namespace larder::proxy {

// Thread-safe. Label values are bounded: routes by the config, methods by a fixed list (any
// other token counts as "other"), cache results and reasons by this program.
class ProxyMetrics {
 public:
  // kInvalidArgument when the registry refuses a family (a name already registered otherwise).
  static absl::StatusOr<std::unique_ptr<ProxyMetrics>> Create(
      std::shared_ptr<prometheus::Registry> registry);

  // larder_proxy_requests_total{route,method,cache}; cache is hit, miss, stale, revalidated,
  // bypass, pass (forwarded around the cache) or error (an upstream failure answered).
  void CountRequest(absl::string_view route, absl::string_view method, absl::string_view cache);
  // larder_proxy_upstream_seconds{route}: one upstream exchange, failed ones included.
  void ObserveUpstream(absl::string_view route, absl::Duration elapsed);
  // larder_proxy_upstream_errors_total{reason}: connect, timeout, too_large, protocol.
  void CountUpstreamError(absl::string_view reason);
  // larder_proxy_coalesced_waits_total: requests answered by a concurrent render of their key.
  void CountCoalescedWait();
  // larder_proxy_request_body_refused_total: requests answered 413 for their body's size.
  void CountRequestBodyRefused();
  // larder_proxy_lookup_batches_total{outcome}: batched reads of stored responses (one
  // MultiGet for the requests an event loop gathered), ok or error; and
  // larder_proxy_batched_lookups_total: the keys they asked for.
  void CountLookupBatch(bool ok, size_t keys);

 private:
  ProxyMetrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* upstream_seconds_ = nullptr;
  prometheus::Family<prometheus::Counter>* upstream_errors_ = nullptr;
  prometheus::Counter* coalesced_waits_ = nullptr;
  prometheus::Counter* body_refused_ = nullptr;
  prometheus::Counter* batches_ok_ = nullptr;
  prometheus::Counter* batches_failed_ = nullptr;
  prometheus::Counter* batched_lookups_ = nullptr;
};

}  // namespace larder::proxy

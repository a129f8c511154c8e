#include "proxy/proxy_metrics.h"

#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace larder::proxy {
namespace {

// From 1 ms to the longest --upstream-timeout anyone should need.
const prometheus::Histogram::BucketBoundaries& UpstreamBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

absl::string_view MethodLabel(absl::string_view method) {
  for (absl::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProxyMetrics>> ProxyMetrics::Create(
    std::shared_ptr<prometheus::Registry> registry) {
  if (registry == nullptr) return absl::InvalidArgumentError("ProxyMetrics needs a registry");
  auto metrics = std::unique_ptr<ProxyMetrics>(new ProxyMetrics());
  try {
    metrics->requests_ = &prometheus::BuildCounter()
                              .Name("larder_proxy_requests_total")
                              .Help(
                                  "Requests answered by larder-proxy, by route, method and how "
                                  "the cache answered (hit, miss, stale, revalidated, bypass, "
                                  "pass, error).")
                              .Register(*registry);
    metrics->upstream_seconds_ = &prometheus::BuildHistogram()
                                      .Name("larder_proxy_upstream_seconds")
                                      .Help("Upstream round trips, failed ones included.")
                                      .Register(*registry);
    metrics->upstream_errors_ =
        &prometheus::BuildCounter()
             .Name("larder_proxy_upstream_errors_total")
             .Help(
                 "Upstream exchanges that failed, by reason (connect, timeout, too_large, "
                 "protocol).")
             .Register(*registry);
    metrics->coalesced_waits_ =
        &prometheus::BuildCounter()
             .Name("larder_proxy_coalesced_waits_total")
             .Help("Requests answered by a concurrent render of their key instead of their own.")
             .Register(*registry)
             .Add({});
    metrics->body_refused_ = &prometheus::BuildCounter()
                                  .Name("larder_proxy_request_body_refused_total")
                                  .Help("Requests answered 413: body over --max-request-body.")
                                  .Register(*registry)
                                  .Add({});
    auto& batches = prometheus::BuildCounter()
                        .Name("larder_proxy_lookup_batches_total")
                        .Help(
                            "Batched reads of stored responses (one MultiGet for the requests "
                            "an event loop gathered), by outcome (ok, error).")
                        .Register(*registry);
    metrics->batches_ok_ = &batches.Add({{"outcome", "ok"}});
    metrics->batches_failed_ = &batches.Add({{"outcome", "error"}});
    metrics->batched_lookups_ = &prometheus::BuildCounter()
                                     .Name("larder_proxy_batched_lookups_total")
                                     .Help("Keys asked for by batched reads of stored responses.")
                                     .Register(*registry)
                                     .Add({});
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("registering proxy metrics: ", e.what()));
  }
  metrics->registry_ = std::move(registry);
  return metrics;
}

void ProxyMetrics::CountRequest(absl::string_view route, absl::string_view method,
                                absl::string_view cache) {
  requests_
      ->Add({{"route", std::string(route)},
             {"method", std::string(MethodLabel(method))},
             {"cache", std::string(cache)}})
      .Increment();
}

void ProxyMetrics::ObserveUpstream(absl::string_view route, absl::Duration elapsed) {
  upstream_seconds_->Add({{"route", std::string(route)}}, UpstreamBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void ProxyMetrics::CountUpstreamError(absl::string_view reason) {
  upstream_errors_->Add({{"reason", std::string(reason)}}).Increment();
}

void ProxyMetrics::CountCoalescedWait() { coalesced_waits_->Increment(); }

void ProxyMetrics::CountRequestBodyRefused() { body_refused_->Increment(); }

void ProxyMetrics::CountLookupBatch(bool ok, size_t keys) {
  (ok ? batches_ok_ : batches_failed_)->Increment();
  batched_lookups_->Increment(static_cast<double>(keys));
}

}  // namespace larder::proxy

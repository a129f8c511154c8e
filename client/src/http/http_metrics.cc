#include "client/src/http/http_metrics.h"

#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace larder::http::internal {
namespace {

void Increment(prometheus::Family<prometheus::Counter>* family, absl::string_view first_name,
               absl::string_view first, absl::string_view second_name, absl::string_view second) {
  if (family == nullptr) return;
  family
      ->Add({{std::string(first_name), std::string(first)},
             {std::string(second_name), std::string(second)}})
      .Increment();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpMetrics>> HttpMetrics::Create(
    std::shared_ptr<prometheus::Registry> registry) {
  auto metrics = std::unique_ptr<HttpMetrics>(new HttpMetrics());
  if (registry == nullptr) return metrics;
  try {
    metrics->responses_ = &prometheus::BuildCounter()
                               .Name("larder_http_responses_total")
                               .Help("HTTP responses of cached routes, by how the cache answered.")
                               .Register(*registry);
    metrics->store_errors_ = &prometheus::BuildCounter()
                                  .Name("larder_http_store_errors_total")
                                  .Help(
                                      "larder calls of the HTTP cache that failed, "
                                      "responses not stored because their tags were invalid "
                                      "(operation=tags) or their headers unsafe to replay "
                                      "(encode), and stored records refused (decode); the "
                                      "handler's response is served.")
                                  .Register(*registry);
    metrics->refreshes_ = &prometheus::BuildCounter()
                               .Name("larder_http_refreshes_total")
                               .Help("Background stale-while-revalidate refreshes, by result.")
                               .Register(*registry);
    metrics->collapsed_ = &prometheus::BuildCounter()
                               .Name("larder_http_collapsed_total")
                               .Help("Misses that waited for a concurrent render of their key.")
                               .Register(*registry);
    metrics->leases_ = &prometheus::BuildCounter()
                            .Name("larder_http_leases_total")
                            .Help(
                                "Misses through larderd's leases (fleet-wide single flight), by "
                                "result: granted, waited, wait_timeout, stale_set_prevented.")
                            .Register(*registry);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("registering HTTP cache metrics: ", e.what()));
  }
  metrics->registry_ = std::move(registry);
  return metrics;
}

void HttpMetrics::CountResponse(absl::string_view route, absl::string_view cache) {
  if (responses_ == nullptr) return;
  for (size_t result = 0; result < kCacheResults.size(); ++result) {
    if (cache == kCacheResults[result]) return ResponseCounter(route, result).Increment();
  }
  Increment(responses_, "route", route, "cache", cache);
}

prometheus::Counter& HttpMetrics::ResponseCounter(absl::string_view route, size_t result) {
  {
    absl::ReaderMutexLock lock(&response_counters_mutex_);
    auto found = response_counters_.find(route);
    if (found != response_counters_.end() && found->second[result] != nullptr) {
      return *found->second[result];
    }
  }
  prometheus::Counter& counter = responses_->Add(
      {{"route", std::string(route)}, {"cache", std::string(kCacheResults[result])}});
  absl::MutexLock lock(&response_counters_mutex_);
  response_counters_[route][result] = &counter;  // Family::Add returns one counter per labels.
  return counter;
}

void HttpMetrics::CountStoreError(absl::string_view route, absl::string_view operation) {
  Increment(store_errors_, "route", route, "operation", operation);
}

void HttpMetrics::CountRefresh(absl::string_view route, absl::string_view result) {
  Increment(refreshes_, "route", route, "result", result);
}

void HttpMetrics::CountCollapsed(absl::string_view route) {
  if (collapsed_ == nullptr) return;
  collapsed_->Add({{"route", std::string(route)}}).Increment();
}

void HttpMetrics::CountLease(absl::string_view route, absl::string_view result) {
  Increment(leases_, "route", route, "result", result);
}

}  // namespace larder::http::internal

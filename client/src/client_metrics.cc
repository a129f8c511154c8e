#include "larder/client_metrics.h"

#include <algorithm>
#include <array>
#include <exception>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace larder {
namespace {

constexpr absl::string_view kOtherNamespace = "other";

constexpr std::array<absl::string_view, 4> kResultLabels = {"hit", "miss", "stale", "error"};

// The `result` labels of larder_client_leases_total, in LeaseEvent's order.
constexpr std::array<absl::string_view, 6> kLeaseLabels = {
    "granted", "waited", "served_stale", "stale_set_prevented", "wait_timeout", "woken_by_watch"};
static_assert(static_cast<size_t>(LeaseEvent::kWokenByWatch) + 1 == kLeaseLabels.size(),
              "one label per LeaseEvent");

// The codes of larder_client_denied_total, in the order of Families::denials' arrays.
constexpr std::array<absl::StatusCode, 2> kDenialCodes = {absl::StatusCode::kUnauthenticated,
                                                          absl::StatusCode::kPermissionDenied};

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
  return *kBuckets;
}

size_t ResultIndex(LookupResult result) {
  switch (result) {
    case LookupResult::kHit:
      return 0;
    case LookupResult::kMiss:
      return 1;
    case LookupResult::kStale:
      return 2;
    case LookupResult::kError:
      return 3;
  }
  return 3;
}

// The label `namespace_name` is counted under in a family whose labelled namespaces are the
// keys of `seen`: itself, or "other" once `max_namespaces` are labelled.
template <typename Map>
std::string NamespaceLabel(const Map& seen, absl::string_view namespace_name,
                           size_t max_namespaces) {
  if (seen.size() >= max_namespaces && !seen.contains(namespace_name)) {
    return std::string(kOtherNamespace);
  }
  return std::string(namespace_name);
}

}  // namespace

struct ClientMetrics::Families {
  std::shared_ptr<prometheus::Registry> registry;
  size_t max_namespaces = 0;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* durations = nullptr;
  prometheus::Family<prometheus::Counter>* rpcs = nullptr;
  prometheus::Family<prometheus::Counter>* denied = nullptr;
  prometheus::Family<prometheus::Counter>* lookup_errors = nullptr;
  prometheus::Family<prometheus::Counter>* leases = nullptr;
  prometheus::Counter* retries = nullptr;
  prometheus::Counter* singleflight_waits = nullptr;
  prometheus::Counter* coder_errors = nullptr;
  NearCacheMetrics near_cache;

  absl::Mutex mutex;
  absl::flat_hash_map<std::string, std::array<prometheus::Counter*, 4>> lookups
      ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, std::array<prometheus::Counter*, kDenialCodes.size()>> denials
      ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, std::array<prometheus::Counter*, kLeaseLabels.size()>>
      lease_counts ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, prometheus::Counter*> rpc_counts ABSL_GUARDED_BY(mutex);
  // Per namespace label, one counter per status code (created when first counted).
  absl::flat_hash_map<std::string, absl::flat_hash_map<int, prometheus::Counter*>> error_counts
      ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, prometheus::Histogram*> rpc_durations ABSL_GUARDED_BY(mutex);

  // Registers (or finds) every family on `registry`. Throws what prometheus-cpp throws.
  void Register() {
    prometheus::Registry& target = *registry;
    requests = &prometheus::BuildCounter()
                    .Name("larder_client_requests_total")
                    .Help("Cache lookups by namespace and result (hit, miss, stale, error).")
                    .Register(target);
    durations = &prometheus::BuildHistogram()
                     .Name("larder_client_request_duration_seconds")
                     .Help("Time of larder RPCs by method, retries included.")
                     .Register(target);
    rpcs = &prometheus::BuildCounter()
                .Name("larder_client_rpcs_total")
                .Help("Finished larder RPCs by method and status code.")
                .Register(target);
    denied = &prometheus::BuildCounter()
                  .Name("larder_client_denied_total")
                  .Help(
                      "larder RPCs refused by the server's access control, by namespace and "
                      "code (UNAUTHENTICATED, PERMISSION_DENIED).")
                  .Register(target);
    lookup_errors = &prometheus::BuildCounter()
                         .Name("larder_client_lookup_errors_total")
                         .Help(
                             "Cache lookups counted as error in larder_client_requests_total, by "
                             "namespace and status code.")
                         .Register(target);
    leases = &prometheus::BuildCounter()
                  .Name("larder_client_leases_total")
                  .Help(
                      "Cached-function calls through leases by namespace and result (granted, "
                      "waited, served_stale, stale_set_prevented, wait_timeout, "
                      "woken_by_watch).")
                  .Register(target);
    retries = &prometheus::BuildCounter()
                   .Name("larder_client_retries_total")
                   .Help("Retry attempts of larder RPCs that failed UNAVAILABLE.")
                   .Register(target)
                   .Add({});
    singleflight_waits = &prometheus::BuildCounter()
                              .Name("larder_client_singleflight_waits_total")
                              .Help("Cached-function calls that waited for another caller.")
                              .Register(target)
                              .Add({});
    coder_errors = &prometheus::BuildCounter()
                        .Name("larder_client_coder_errors_total")
                        .Help("Cached values that failed to encode or decode.")
                        .Register(target)
                        .Add({});
    RegisterNearCache(target);
  }

  // The near cache's families (NearCacheMetrics). Throws what prometheus-cpp throws.
  void RegisterNearCache(prometheus::Registry& target) {
    auto& lookups = prometheus::BuildCounter()
                        .Name("larder_client_near_cache_lookups_total")
                        .Help("Near-cache lookups by result (hit, miss).")
                        .Register(target);
    near_cache.hits = &lookups.Add({{"result", "hit"}});
    near_cache.misses = &lookups.Add({{"result", "miss"}});
    near_cache.evictions = &prometheus::BuildCounter()
                                .Name("larder_client_near_cache_evictions_total")
                                .Help("Near-cache entries evicted to make room.")
                                .Register(target)
                                .Add({});
    near_cache.resets = &prometheus::BuildCounter()
                             .Name("larder_client_near_cache_resets_total")
                             .Help("Namespaces reset or lost by the near cache (entries dropped).")
                             .Register(target)
                             .Add({});
    near_cache.refused_installs =
        &prometheus::BuildCounter()
             .Name("larder_client_near_cache_refused_installs_total")
             .Help("Fetched values not installed because an invalidation or reset overtook them.")
             .Register(target)
             .Add({});
    near_cache.bytes = &prometheus::BuildGauge()
                            .Name("larder_client_near_cache_bytes")
                            .Help("Bytes charged by near-cache entries.")
                            .Register(target)
                            .Add({});
    near_cache.entries = &prometheus::BuildGauge()
                              .Name("larder_client_near_cache_entries")
                              .Help("Entries held by the near cache.")
                              .Register(target)
                              .Add({});
  }

  // The counters of `namespace_name`, or of "other" past the namespace cap.
  std::array<prometheus::Counter*, 4>& LookupCounters(absl::string_view namespace_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    const std::string label = NamespaceLabel(lookups, namespace_name, max_namespaces);
    auto it = lookups.find(label);
    if (it != lookups.end()) return it->second;
    std::array<prometheus::Counter*, 4> counters;
    for (size_t i = 0; i < counters.size(); ++i) {
      counters[i] =
          &requests->Add({{"namespace", label}, {"result", std::string(kResultLabels[i])}});
    }
    return lookups.emplace(label, counters).first->second;
  }

  // The counter of `code` for `namespace_name`, or of "other" past the namespace cap. At most
  // 17 codes per namespace label.
  prometheus::Counter& LookupErrorCounter(absl::string_view namespace_name, absl::StatusCode code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    const std::string label = NamespaceLabel(error_counts, namespace_name, max_namespaces);
    absl::flat_hash_map<int, prometheus::Counter*>& by_code = error_counts[label];
    prometheus::Counter*& counter = by_code[static_cast<int>(code)];
    if (counter == nullptr) {
      std::string code_name = absl::StatusCodeToString(code);
      if (code_name.empty()) code_name = "UNKNOWN";
      counter = &lookup_errors->Add({{"namespace", label}, {"code", code_name}});
    }
    return *counter;
  }

  // The lease counters of `namespace_name`, or of "other" past the namespace cap.
  std::array<prometheus::Counter*, kLeaseLabels.size()>& LeaseCounters(
      absl::string_view namespace_name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    const std::string label = NamespaceLabel(lease_counts, namespace_name, max_namespaces);
    auto it = lease_counts.find(label);
    if (it != lease_counts.end()) return it->second;
    std::array<prometheus::Counter*, kLeaseLabels.size()> counters;
    for (size_t i = 0; i < counters.size(); ++i) {
      counters[i] = &leases->Add({{"namespace", label}, {"result", std::string(kLeaseLabels[i])}});
    }
    return lease_counts.emplace(label, counters).first->second;
  }

  // The denial counters of `namespace_name`, or of "other" past the namespace cap.
  std::array<prometheus::Counter*, kDenialCodes.size()>& DenialCounters(
      absl::string_view namespace_name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    const std::string label = NamespaceLabel(denials, namespace_name, max_namespaces);
    auto it = denials.find(label);
    if (it != denials.end()) return it->second;
    std::array<prometheus::Counter*, kDenialCodes.size()> counters;
    for (size_t i = 0; i < counters.size(); ++i) {
      counters[i] =
          &denied->Add({{"namespace", label}, {"code", absl::StatusCodeToString(kDenialCodes[i])}});
    }
    return denials.emplace(label, counters).first->second;
  }
};

std::shared_ptr<prometheus::Registry> DefaultMetricsRegistry() {
  static const auto* const kRegistry =
      new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *kRegistry;
}

absl::StatusOr<std::unique_ptr<ClientMetrics>> ClientMetrics::Create(
    std::shared_ptr<prometheus::Registry> registry, int max_namespaces) {
  auto families = std::make_unique<Families>();
  families->registry = registry != nullptr ? std::move(registry) : DefaultMetricsRegistry();
  families->max_namespaces = static_cast<size_t>(std::max(1, max_namespaces));
  try {  // prometheus-cpp throws on a conflicting family.
    families->Register();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot register larder client metrics: ", e.what()));
  }
  return std::unique_ptr<ClientMetrics>(new ClientMetrics(std::move(families)));
}

ClientMetrics::ClientMetrics(std::unique_ptr<Families> families) : families_(std::move(families)) {}

ClientMetrics::~ClientMetrics() = default;

void ClientMetrics::RecordLookup(absl::string_view namespace_name, LookupResult result) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&families_->mutex);
    counter = families_->LookupCounters(namespace_name)[ResultIndex(result)];
  }
  counter->Increment();
}

void ClientMetrics::RecordLookupError(absl::string_view namespace_name, absl::StatusCode code) {
  prometheus::Counter* lookup;
  prometheus::Counter* by_code;
  {
    absl::MutexLock lock(&families_->mutex);
    lookup = families_->LookupCounters(namespace_name)[ResultIndex(LookupResult::kError)];
    by_code = &families_->LookupErrorCounter(namespace_name, code);
  }
  lookup->Increment();
  by_code->Increment();
}

void ClientMetrics::RecordDenied(absl::string_view namespace_name, absl::StatusCode code) {
  const auto* found = std::find(kDenialCodes.begin(), kDenialCodes.end(), code);
  if (found == kDenialCodes.end()) return;
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&families_->mutex);
    counter = families_->DenialCounters(
        namespace_name)[static_cast<size_t>(found - kDenialCodes.begin())];
  }
  counter->Increment();
}

void ClientMetrics::RecordLease(absl::string_view namespace_name, LeaseEvent event) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&families_->mutex);
    counter = families_->LeaseCounters(namespace_name)[static_cast<size_t>(event)];
  }
  counter->Increment();
}

void ClientMetrics::RecordSingleFlightWait() { families_->singleflight_waits->Increment(); }

void ClientMetrics::RecordCoderError() { families_->coder_errors->Increment(); }

void ClientMetrics::RecordRetry() { families_->retries->Increment(); }

void ClientMetrics::RecordRpc(absl::string_view method, absl::string_view code_name,
                              absl::Duration took) {
  prometheus::Counter* count;
  prometheus::Histogram* duration;
  {
    absl::MutexLock lock(&families_->mutex);
    const std::string count_key = absl::StrCat(method, "/", code_name);
    auto counted = families_->rpc_counts.find(count_key);
    if (counted == families_->rpc_counts.end()) {
      prometheus::Counter& added =
          families_->rpcs->Add({{"method", std::string(method)}, {"code", std::string(code_name)}});
      counted = families_->rpc_counts.emplace(count_key, &added).first;
    }
    count = counted->second;
    auto timed = families_->rpc_durations.find(method);
    if (timed == families_->rpc_durations.end()) {
      prometheus::Histogram& added =
          families_->durations->Add({{"method", std::string(method)}}, DurationBuckets());
      timed = families_->rpc_durations.emplace(std::string(method), &added).first;
    }
    duration = timed->second;
  }
  count->Increment();
  duration->Observe(absl::ToDoubleSeconds(took));
}

const NearCacheMetrics& ClientMetrics::near_cache() const { return families_->near_cache; }

const std::shared_ptr<prometheus::Registry>& ClientMetrics::registry() const {
  return families_->registry;
}

}  // namespace larder

#include "server/metrics/engine_metrics.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/flag_types.h"
#include "server/metrics/metric_families.h"

namespace larder::server {
namespace {

using internal::AddCounter;
using internal::AddGauge;
using internal::Family;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace

std::string StoreIdentity(const storage::EngineOptions& options, absl::string_view engine,
                          absl::string_view listen) {
  if (engine == "redis") {
    return absl::StrCat(RedactUrlPassword(options.redis.url), " ", options.redis.key_prefix);
  }
  if (engine == "memcached") {
    return absl::StrCat("memcached://", options.memcached.servers, " ",
                        options.memcached.key_prefix);
  }
  if (engine == "rocksdb") return absl::StrCat("rocksdb@", HostName(), ":", options.rocksdb.path);
  return absl::StrCat(engine, "@", HostName(), ":", listen);
}

std::vector<MetricFamily> EngineMetrics::Collect(uint64_t engine_errors) const {
  const std::string engine(engine_.name());
  std::vector<MetricFamily> families;
  MetricFamily errors = Family("larder_engine_errors_total", "Storage engine calls that failed.",
                               MetricType::Counter);
  AddCounter(errors, {{"engine", engine}}, static_cast<double>(engine_errors));
  families.push_back(std::move(errors));
  const Reading reading = Read();
  MetricFamily up =
      Family("larder_engine_up", "1 while the storage engine answers its health check, else 0.",
             MetricType::Gauge);
  AddGauge(up, {{"engine", engine}, {"store", options_.store}}, reading.health.ok() ? 1 : 0);
  families.push_back(std::move(up));
  if (options_.memory_limit_bytes > 0) {
    MetricFamily limit =
        Family("larder_memory_limit_bytes",
               "The memory engine's configured limit (--memory-limit).", MetricType::Gauge);
    AddGauge(limit, {{"engine", engine}}, static_cast<double>(options_.memory_limit_bytes));
    families.push_back(std::move(limit));
  }
  // The engine is down: what it holds is absent, not zero.
  if (reading.stats.ok()) AddHoldings(*reading.stats, families);
  if (reading.namespaces.ok()) AddNamespaces(*reading.namespaces, families);
  return families;
}

EngineMetrics::Reading EngineMetrics::Read() const {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  if (reading_.has_value() && now - read_at_ < options_.max_age) return *reading_;
  Reading reading{engine_.CheckHealth(), engine_.Stats(""),
                  engine_.ListNamespaces("", options_.max_namespaces)};
  reading_ = reading;
  read_at_ = now;
  return reading;
}

void EngineMetrics::AddHoldings(const storage::EngineStats& stats,
                                std::vector<MetricFamily>& families) const {
  const std::pair<const char*, std::pair<const char*, int64_t>> gauges[] = {
      {"larder_entries", {"Entries held by the store.", stats.entries}},
      {"larder_stored_bytes", {"Bytes of keys and values held by the store.", stats.bytes}}};
  for (const auto& [name, help_value] : gauges) {
    MetricFamily family = Family(name, help_value.first, MetricType::Gauge);
    AddGauge(family, {{"store", options_.store}}, static_cast<double>(help_value.second));
    families.push_back(std::move(family));
  }
  const std::pair<const char*, std::pair<const char*, int64_t>> counters[] = {
      {"larder_evictions_total",
       {"Entries the store evicted to respect its memory limit.", stats.evictions}},
      {"larder_expirations_total", {"Expired entries the store reclaimed.", stats.expirations}}};
  for (const auto& [name, help_value] : counters) {
    MetricFamily family = Family(name, help_value.first, MetricType::Counter);
    AddCounter(family, {{"store", options_.store}}, static_cast<double>(help_value.second));
    families.push_back(std::move(family));
  }
}

void EngineMetrics::AddNamespaces(const storage::NamespaceList& list,
                                  std::vector<MetricFamily>& families) const {
  MetricFamily entries =
      Family("larder_namespace_entries",
             "Entries held per namespace (the first namespaces by name).", MetricType::Gauge);
  MetricFamily bytes = Family("larder_namespace_bytes",
                              "Bytes of keys and values held per namespace (the first "
                              "namespaces by name).",
                              MetricType::Gauge);
  for (const storage::NamespaceInfo& info : list.namespaces) {
    AddGauge(entries, {{"store", options_.store}, {"namespace", info.name}},
             static_cast<double>(info.entries));
    AddGauge(bytes, {{"store", options_.store}, {"namespace", info.name}},
             static_cast<double>(info.bytes));
  }
  families.push_back(std::move(entries));
  families.push_back(std::move(bytes));
}

}  // namespace larder::server

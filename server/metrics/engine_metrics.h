// EngineMetrics: the storage engine's families for larderd's scrape (ServerMetrics): whether it
// is usable, what it holds (in all and per namespace), its evictions and expirations, and the
// configured memory limit. What the engine holds is labelled with `store`, the data set it
// describes, so that replicas sharing one Redis report one series value each for the same store
// and a dashboard takes `max by (store)` before summing, instead of counting the data once per
// replica.
//
//   EngineMetricsOptions options;
//   options.store = StoreIdentity(engine_options, "redis", "0.0.0.0:50051");
//   EngineMetrics metrics(engine, options);
//   std::vector<prometheus::MetricFamily> families = metrics.Collect(engine_errors);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/metric_family.h"
#include "server/storage/engine_options.h"
#include "server/storage/storage_engine.h"

namespace larder::server {

struct EngineMetricsOptions {
  // The data set the engine's figures describe (StoreIdentity). Default: empty.
  std::string store;
  // Namespaces reported by larder_namespace_entries / _bytes: the first ones by name. Default:
  // 100.
  size_t max_namespaces = 100;
  // The engine's configured memory limit (memory engine), exported as
  // larder_memory_limit_bytes; 0 exports none. Default: 0.
  int64_t memory_limit_bytes = 0;
  // How long one reading of the engine (health, Stats, namespaces) serves scrapes. RocksDB and
  // Redis answer Stats by scanning, so larderd sets it for them. Default: 0 (read at every
  // scrape).
  absl::Duration max_age = absl::ZeroDuration();
};

// The `store` label of an engine: for Redis its URL without the password, and its key prefix
// (replicas configured alike agree); for memcached its server list and key prefix; for memory
// and RocksDB, which each larderd holds alone,
// this host's name and `listen` (memory) or the database path (RocksDB).
std::string StoreIdentity(const storage::EngineOptions& options, absl::string_view engine,
                          absl::string_view listen);

// Collect() is thread-safe; concurrent scrapes share one reading of the engine.
class EngineMetrics {
 public:
  EngineMetrics(storage::StorageEngine& engine, EngineMetricsOptions options)
      : engine_(engine), options_(std::move(options)) {}

  // The families, with `engine_errors` (failed engine calls so far) as
  // larder_engine_errors_total. Costs one engine reading when the last is older than max_age:
  // CheckHealth, Stats("") and one ListNamespaces page of max_namespaces.
  std::vector<prometheus::MetricFamily> Collect(uint64_t engine_errors) const;

 private:
  struct Reading {
    absl::Status health;
    absl::StatusOr<storage::EngineStats> stats;
    absl::StatusOr<storage::NamespaceList> namespaces;
  };
  Reading Read() const;
  void AddHoldings(const storage::EngineStats& stats,
                   std::vector<prometheus::MetricFamily>& families) const;
  void AddNamespaces(const storage::NamespaceList& list,
                     std::vector<prometheus::MetricFamily>& families) const;

  storage::StorageEngine& engine_;
  const EngineMetricsOptions options_;
  mutable absl::Mutex mutex_;
  mutable std::optional<Reading> reading_ ABSL_GUARDED_BY(mutex_);
  mutable absl::Time read_at_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace larder::server

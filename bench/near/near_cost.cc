#include "bench/near/near_cost.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/near/near_client.h"
#include "client/src/near_cache.h"
#include "larder/client.h"
#include "larder/client_metrics.h"
#include "larder/common/clock.h"
#include "larder/common/status_macros.h"
#include "larder/http/larder_response_store.h"
#include "larder/http/response.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

namespace larder::bench {
namespace {

using client::internal::NearCache;
using client::internal::NearCacheLimits;
using client::internal::NearEntry;

constexpr absl::Duration kTtl = absl::Minutes(10);
constexpr absl::Duration kPatience = absl::Seconds(10);

// Keeps what the measured calls returned observable, so the compiler cannot drop them.
volatile size_t g_sink = 0;

// Runs `hit` warmup_ops times, then ops times with collection on; `hit` returns the bytes it
// got, 0 for anything but a hit. `hits_so_far` reads the near cache's hit counter.
template <typename Hit, typename Hits>
absl::StatusOr<CostResult> Counted(const CostOptions& options, Hit hit, Hits hits_so_far) {
  for (int64_t i = 0; i < options.warmup_ops; ++i) g_sink = g_sink + hit();
  const double hits_before = hits_so_far();
  size_t bytes = 0;
  int64_t misses = 0;
  CALLGRIND_TOGGLE_COLLECT;
  for (int64_t i = 0; i < options.ops; ++i) {
    bytes = hit();
    misses += bytes == 0 ? 1 : 0;
  }
  CALLGRIND_TOGGLE_COLLECT;
  g_sink = g_sink + bytes;
  CostResult result;
  result.ops = options.ops;
  result.near_hits = static_cast<int64_t>(hits_so_far() - hits_before);
  result.value_bytes = static_cast<int64_t>(bytes);
  if (misses > 0 || result.near_hits != options.ops) {
    return absl::FailedPreconditionError(absl::StrCat(
        misses, " of ", options.ops, " counted calls missed; near hits: ", result.near_hits));
  }
  return result;
}

absl::StatusOr<CostResult> MeasureLookup(const CostOptions& options, bool fresh) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<ClientMetrics> metrics,
                          ClientMetrics::Create(std::make_shared<prometheus::Registry>(), 32));
  NearCache cache(NearCacheLimits{}, Clock::Real(), &metrics->near_cache());
  cache.OnReset(options.ns);
  NearEntry entry{std::string(static_cast<size_t>(options.value_bytes), 'v'), "\"near-bench\"",
                  absl::Now() + kTtl};
  if (!cache.Install(cache.BeginFetch(options.ns), options.ns, options.key, std::move(entry))) {
    return absl::FailedPreconditionError("the entry was not installed");
  }
  auto hits = [&metrics] { return metrics->near_cache().hits->Value(); };
  if (fresh) {
    return Counted(
        options,
        [&] {
          GetResult result;
          return cache.Lookup(options.ns, options.key, result) ? result.value.size() : 0;
        },
        hits);
  }
  GetResult reused;
  return Counted(
      options,
      [&] { return cache.Lookup(options.ns, options.key, reused) ? reused.value.size() : 0; },
      hits);
}

// A client whose near cache serves options.key, stored by `store` (which writes through it).
template <typename Store>
absl::StatusOr<std::shared_ptr<Client>> NearClientWith(const CostOptions& options, Store store) {
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Client> client,
                          NewBenchClient(options.target, options.ns, /*near=*/true));
  LARDER_RETURN_IF_ERROR(store(client));
  if (!WaitUntilNear(*client, options.ns, options.key, kPatience)) {
    return absl::FailedPreconditionError(absl::StrCat("the entry was never served near within ",
                                                      absl::FormatDuration(kPatience),
                                                      ": is larderd's Watch stream live?"));
  }
  return client;
}

absl::StatusOr<CostResult> MeasureClientGet(const CostOptions& options) {
  const std::string value(static_cast<size_t>(options.value_bytes), 'v');
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Client> client,
                          NearClientWith(options, [&](const std::shared_ptr<Client>& client) {
                            SetOptions set;
                            set.ttl = kTtl;
                            return client->Set(options.ns, options.key, value, set).status();
                          }));
  return Counted(
      options,
      [&] {
        absl::StatusOr<GetResult> got = client->Get(options.ns, options.key);
        return got.ok() && got->found ? got->value.size() : 0;
      },
      [&] { return NearHits(*client); });
}

// A 200 response of value_bytes of JSON-ish body, as the example service stores /items/1.
http::StoredResponse StoredBody(int bytes) {
  http::StoredResponse stored;
  stored.response.status = 200;
  stored.meta.etag = "\"ae4fe5745a3803800a13e5e89896f201\"";
  stored.response.headers.Add("Content-Type", "application/json");
  stored.response.headers.Add("ETag", stored.meta.etag);
  stored.response.body = std::string(static_cast<size_t>(bytes), 'b');
  stored.meta.stored_at = absl::Now();
  stored.meta.fresh_until = stored.meta.stored_at + kTtl;
  return stored;
}

absl::StatusOr<CostResult> MeasureStoreLookup(const CostOptions& options) {
  std::shared_ptr<http::ResponseStore> store;
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Client> client,
                          NearClientWith(options, [&](const std::shared_ptr<Client>& client) {
                            store = http::NewLarderResponseStore(client);
                            return store->Store(options.ns, options.key,
                                                StoredBody(options.value_bytes), kTtl, {});
                          }));
  return Counted(
      options,
      [&] {
        absl::StatusOr<std::optional<http::StoredResponse>> got =
            store->Lookup(options.ns, options.key, http::ResponseStore::LookupPurpose::kServe);
        return got.ok() && got->has_value() ? (*got)->response.body.size() : 0;
      },
      [&] { return NearHits(*client); });
}

}  // namespace

absl::StatusOr<CostResult> MeasureCost(CostMode mode, const CostOptions& options) {
  switch (mode) {
    case CostMode::kLookup:
      return MeasureLookup(options, /*fresh=*/false);
    case CostMode::kLookupFresh:
      return MeasureLookup(options, /*fresh=*/true);
    case CostMode::kClientGet:
      return MeasureClientGet(options);
    case CostMode::kStoreLookup:
      return MeasureStoreLookup(options);
  }
  return absl::InvalidArgumentError("unknown cost mode");
}

}  // namespace larder::bench

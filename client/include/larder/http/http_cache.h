// HttpCache: the response-caching pipeline of one web service. Adapters (larder/httplib,
// larder/beast) call Handle for every request of a cached route; it decides (decide.h), reads
// and writes larder through a ResponseStore, runs the handler when needed, and sets the headers
// a client sees (outgoing.h).
//
//   auto cache = larder::http::HttpCache::Create(larder::http::NewLarderResponseStore(client));
//   auto handler = larder::http::MakeRouteHandler(render_item, request);
//   larder::http::Response response = (*cache)->Handle(request, policy, *handler);
//
// Guarantees: fail-open (a larder error, a denial included, is counted and the handler
// answers); one handler run per key for concurrent misses (coalescing); one background refresh
// per key for stale-while-revalidate; handler failures (exceptions, 5xx) never stored, and
// replaced by a stale response within stale-if-error; stored records are data: one that could
// not have been written by this layer (record_validation.h) is never replayed but counted,
// logged (rate-limited, without its values) and treated as a miss that the render replaces.
// Revalidation (RFC 9111 section 4.3): a stale stored response with a validator (ETag or
// Last-Modified), and a stored response marked no-cache on every use (section 5.2.2.4, never
// served stale), is revalidated by running the handler with If-None-Match / If-Modified-Since
// (RouteHandler::WithHeaders); a 304 freshens the stored entry and the client gets the stored
// body (Cache-Status detail=revalidated), a full response replaces it. Concurrent revalidations
// of a key coalesce like misses. A no-cache response without a validator is not stored.
// Across processes (RoutePolicy::lease_wait, over a store with leases), one process renders a
// missing key while the others wait for its stored response, and a render overtaken by a write
// or an invalidation elsewhere is refused instead of stored (docs/http.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/common/clock.h"
#include "larder/http/decide.h"
#include "larder/http/outgoing.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"
#include "larder/http/response_store.h"
#include "larder/wait_clock.h"

namespace prometheus {
class Registry;
}

namespace larder::client::internal {
class RateLimitedLog;
}  // namespace larder::client::internal

namespace larder::http {

namespace internal {
class Coalescer;
class FleetLease;
class HttpMetrics;
class LeaderGuard;
class Refresher;
}  // namespace internal

// The route's handler as the pipeline sees it: bound to one request.
class RouteHandler {
 public:
  virtual ~RouteHandler() = default;
  // Runs the handler on the calling thread. May throw; the exception then propagates out of
  // HttpCache::Handle unchanged (after the cache has recorded the failure), unless a
  // stale-if-error response replaces it.
  virtual Response Render() = 0;
  // A handler owning everything it needs to run again after the request is answered, on another
  // thread (stale-while-revalidate refreshes). nullptr when the request cannot be replayed; the
  // pipeline then renders stale requests synchronously instead.
  virtual std::unique_ptr<RouteHandler> Detach() const = 0;
  // A handler running the same request with `headers` set (each replacing the request's fields
  // of that name), used to revalidate a stored response (RFC 9111 section 4.3.1) with
  // If-None-Match / If-Modified-Since. nullptr when the request cannot be changed; the pipeline
  // then renders in full. Default: nullptr.
  virtual std::unique_ptr<RouteHandler> WithHeaders(const Headers& headers) const {
    (void)headers;
    return nullptr;
  }
};

// A RouteHandler running `handler` on an owned copy of `request`; always detachable, and able
// to revalidate (WithHeaders).
std::unique_ptr<RouteHandler> MakeRouteHandler(std::function<Response(const Request&)> handler,
                                               Request request);

struct HttpCacheOptions {
  // The clock of freshness decisions. Default: nullptr, meaning larder::Clock::Real().
  const Clock* clock = nullptr;
  // Where larder_http_* metrics are registered. Default: nullptr (no metrics).
  std::shared_ptr<prometheus::Registry> metrics_registry;
  // Header names. Default: X-Cache, Cache-Status "larder".
  OutgoingOptions outgoing;
  // Threads running stale-while-revalidate refreshes. Default: 2.
  int refresh_threads = 2;
  // Refreshes queued at most; more are skipped (the stale response is still served).
  // Default: 256.
  size_t max_pending_refreshes = 256;
  // What waits for another process's lease (RoutePolicy::lease_wait) are timed and slept on.
  // Default: nullptr, meaning larder::WaitClock::Real(); tests inject one that never sleeps.
  const WaitClock* wait_clock = nullptr;
};

// Thread-safe: Handle is called concurrently from the web framework's threads.
class HttpCache {
 public:
  // kInvalidArgument when the metrics registry refuses the families or `store` is null.
  static absl::StatusOr<std::unique_ptr<HttpCache>> Create(std::shared_ptr<ResponseStore> store,
                                                           HttpCacheOptions options = {});
  // Drops queued refreshes and waits for running ones.
  ~HttpCache();

  // Answers one request of a route. See decide.h for the rules and docs/http.md for the headers.
  Response Handle(const Request& request, const RoutePolicy& policy, RouteHandler& handler);

  // Handle's answer when it is a fresh hit (or its 304) on a response this process holds
  // (ResponseStore::LookupHeld: a near cache), computed without I/O, waiting or the handler, and
  // counted as Handle counts it; nullopt, with nothing counted, in every other case (a miss, a
  // stale or uncached response, a request the route bypasses, checks_before_lookup), where the
  // caller calls Handle. For event loops: answer what is held at once, hand the rest to a thread
  // that may block. O(request and stored response).
  std::optional<Response> HandleHeld(const Request& request, const RoutePolicy& policy);

  // The key HandleHeld and HandleFetched look `request` up under in policy.cache_namespace (its
  // base record), or "" when neither could answer it (a method or policy Handle must see).
  std::string HeldKey(const Request& request, const RoutePolicy& policy) const;

  // HandleHeld over a record the caller read itself (e.g. the records of many requests in one
  // Client::MultiGet): `fetched_value` is the entry's value as stored under `fetched_key`
  // (ResponseStore::DecodeFetched decodes it). The same answer, counted the same way, and
  // nullopt with nothing counted in the same cases; also when `fetched_key` is not the request's
  // HeldKey (a record names neither its key nor its URL, so a value paired with the wrong
  // request is refused here, never served) or the request's variant is stored under another key
  // (the caller then calls Handle, which reads it). O(request and stored response).
  std::optional<Response> HandleFetched(const Request& request, const RoutePolicy& policy,
                                        absl::string_view fetched_key,
                                        absl::string_view fetched_value);

  // Removes a namespace's entries carrying `tag`, or stored for `path` (all its query strings,
  // vary values and hosts). Errors are the store's (kUnavailable when larder is unreachable).
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view cache_namespace, absl::string_view tag);
  absl::StatusOr<int64_t> InvalidatePath(absl::string_view cache_namespace, absl::string_view path);

  // Blocks until no background refresh is queued or running (tests, orderly shutdown).
  void WaitForRefreshes();

  const HttpCacheOptions& options() const { return options_; }

 private:
  struct Call;
  HttpCache(std::shared_ptr<ResponseStore> store, HttpCacheOptions options,
            std::unique_ptr<internal::HttpMetrics> metrics);

  Response Lookup(Call& call);
  // HandleHeld's and HandleFetched's answer from the records `held_record(key)` gives.
  std::optional<Response> ServeHeld(
      const Request& request, const RoutePolicy& policy, const std::string& key,
      absl::FunctionRef<std::optional<StoredResponse>(absl::string_view)> held_record);
  absl::StatusOr<std::optional<StoredResponse>> LookupServable(const Call& call);
  Response Bypass(Call& call, Forward forward, absl::string_view detail);
  Response ServeHit(Call& call, const StoredResponse& stored);
  std::optional<StoredResponse> LookupFresh(Call& call);
  Response HandleWrite(Call& call);
  Response GatewayTimeout(Call& call);
  Response Miss(Call& call, const Decision& decision, const std::optional<StoredResponse>& stored);
  Response LeaseAndRender(Call& call, const Decision& decision,
                          const std::optional<StoredResponse>& stored, internal::LeaderGuard& guard,
                          bool may_lease);
  Response RenderMiss(Call& call, const Decision& decision,
                      const std::optional<StoredResponse>& stored, internal::LeaderGuard& guard,
                      internal::FleetLease& lease);
  Response ServeCollapsed(Call& call, const Decision& decision, const StoredResponse& shared,
                          bool revalidated);
  Response ServeStale(Call& call, const StoredResponse& stored);
  Response ServeStored(Call& call, const StoredResponse& stored, Delivery delivery,
                       absl::string_view label);
  Response Finish(Call& call, Response response, const Delivery& delivery, absl::string_view label);
  // When a render started: its request time (RFC 9111 section 4.2.3) and the invalidation
  // generation then; the fleet-wide lease it holds, if any.
  struct RenderStart {
    absl::Time request_time;
    uint64_t generation = 0;
    internal::FleetLease* lease = nullptr;
  };
  std::optional<StoredResponse> StoreRendered(const Request& request, const RoutePolicy& policy,
                                              const std::string& key, const Response& response,
                                              const RenderStart& start);
  bool StoreUnlessInvalidated(const RoutePolicy& policy, const std::string& key,
                              const StoredResponse& record, absl::Duration keep,
                              const std::vector<std::string>& tags, const RenderStart& start);
  // What a background refresh refreshes: the stale stored response (revalidated when it has a
  // validator) and the generation of the request that scheduled it.
  struct RefreshOf {
    uint64_t generation = 0;
    std::optional<StoredResponse> stored;
  };
  void Refresh(const Request& request, const RoutePolicy& policy, const std::string& key,
               const RefreshOf& of, RouteHandler& handler);
  void InvalidateAfterWrite(const Call& call, const Response& response);
  // Logs (at most once a minute per operation) that `operation` on larder failed for a route.
  void LogStoreError(absl::string_view operation, const RoutePolicy& policy,
                     const absl::Status& why, absl::string_view consequence);
  const WaitClock& wait_clock() const;

  std::shared_ptr<ResponseStore> store_;
  HttpCacheOptions options_;
  const Clock* clock_;
  std::unique_ptr<internal::HttpMetrics> metrics_;
  // Refused records and renders, one line per minute per cause at most.
  std::unique_ptr<client::internal::RateLimitedLog> log_;
  std::unique_ptr<internal::Coalescer> coalescer_;
  // Bumped by every invalidation of this process (InvalidateTag, InvalidatePath, writes); a
  // render stores only when it is unchanged since the request arrived.
  std::atomic<uint64_t> generation_{0};
  // Last: destroyed first, so refreshes never outlive what they use.
  std::unique_ptr<internal::Refresher> refresher_;
};

}  // namespace larder::http

#include "larder/http/http_cache.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/src/http/cache_key.h"
#include "client/src/http/coalescer.h"
#include "client/src/http/fleet_lease.h"
#include "client/src/http/freshness.h"
#include "client/src/http/http_metrics.h"
#include "client/src/http/invalidation.h"
#include "client/src/http/record_validation.h"
#include "client/src/http/refresher.h"
#include "client/src/http/render.h"
#include "client/src/http/variants.h"
#include "client/src/rate_limited_log.h"
#include "larder/http/conditional.h"
#include "larder/http/key.h"
#include "larder/http/storable.h"

namespace larder::http {

struct HttpCache::Call {
  const Request& request;
  const RoutePolicy& policy;
  RouteHandler& handler;
  absl::Time now;
  std::string key;
  // The invalidation generation when the request arrived (see HttpCache::generation_).
  uint64_t generation = 0;
};

namespace {

std::string FlightKey(const RoutePolicy& policy, const std::string& key) {
  return policy.cache_namespace + "\n" + key;
}

Delivery StaleDelivery(const StoredResponse& stored, absl::Time now, absl::string_view detail) {
  Delivery delivery;
  delivery.cache_result = "STALE";
  delivery.status.hit = true;
  delivery.status.ttl = stored.meta.fresh_until - now;
  delivery.status.detail = std::string(detail);
  delivery.age = now - stored.meta.stored_at;
  return delivery;
}

Delivery StaleIfErrorDelivery(const StoredResponse& stored, absl::Time now, int failed_status) {
  Delivery delivery = StaleDelivery(stored, now, "stale-if-error");
  delivery.status.hit = false;
  delivery.status.forward = Forward::kStale;
  delivery.status.forward_status = failed_status;
  return delivery;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpCache>> HttpCache::Create(std::shared_ptr<ResponseStore> store,
                                                             HttpCacheOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("HttpCache needs a ResponseStore");
  auto metrics = internal::HttpMetrics::Create(options.metrics_registry);
  if (!metrics.ok()) return metrics.status();
  return std::unique_ptr<HttpCache>(
      new HttpCache(std::move(store), std::move(options), *std::move(metrics)));
}

HttpCache::HttpCache(std::shared_ptr<ResponseStore> store, HttpCacheOptions options,
                     std::unique_ptr<internal::HttpMetrics> metrics)
    : store_(std::move(store)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &Clock::Real()),
      metrics_(std::move(metrics)),
      log_(std::make_unique<client::internal::RateLimitedLog>(*clock_, absl::Minutes(1))),
      coalescer_(std::make_unique<internal::Coalescer>()),
      refresher_(std::make_unique<internal::Refresher>(options_.refresh_threads,
                                                       options_.max_pending_refreshes)) {}

HttpCache::~HttpCache() = default;

Response HttpCache::Handle(const Request& request, const RoutePolicy& policy,
                           RouteHandler& handler) {
  for (const Check& check : policy.checks_before_lookup) {
    if (std::optional<Response> answer = check(request)) {
      metrics_->CountResponse(RouteLabel(policy), "bypass");
      return *std::move(answer);
    }
  }
  Call call{request, policy, handler, clock_->Now(), "", generation_.load()};
  if (!IsCacheableMethod(request)) return HandleWrite(call);
  return Lookup(call);
}

std::string HttpCache::HeldKey(const Request& request, const RoutePolicy& policy) const {
  if (!policy.checks_before_lookup.empty() || !IsCacheableMethod(request) ||
      !NeedsLookup(request, policy)) {
    return "";
  }
  return internal::KeyFor(request, policy);
}

std::optional<Response> HttpCache::HandleHeld(const Request& request, const RoutePolicy& policy) {
  const std::string key = HeldKey(request, policy);
  if (key.empty()) return std::nullopt;
  return ServeHeld(request, policy, key, [&](absl::string_view record_key) {
    return store_->LookupHeld(policy.cache_namespace, record_key);
  });
}

std::optional<Response> HttpCache::HandleFetched(const Request& request, const RoutePolicy& policy,
                                                 absl::string_view fetched_key,
                                                 absl::string_view fetched_value) {
  const std::string key = HeldKey(request, policy);
  if (key.empty() || key != fetched_key) return std::nullopt;
  return ServeHeld(request, policy, key,
                   [&](absl::string_view record_key) -> std::optional<StoredResponse> {
                     if (record_key != key) return std::nullopt;  // A variant: not fetched.
                     return store_->DecodeFetched(fetched_value);
                   });
}

std::optional<Response> HttpCache::ServeHeld(
    const Request& request, const RoutePolicy& policy, const std::string& key,
    absl::FunctionRef<std::optional<StoredResponse>(absl::string_view)> held_record) {
  std::optional<StoredResponse> held = internal::LookupHeldVariant(key, request, held_record);
  if (!held.has_value()) return std::nullopt;
  const absl::Time now = clock_->Now();
  const Action action = internal::DecideStored(request, policy, &*held, now).action;
  if (action != Action::kServe && action != Action::kNotModified) return std::nullopt;
  store_->RecordHeldHit(policy.cache_namespace);
  // Never renders: the call's handler is never reached from ServeHit.
  struct NoHandler final : RouteHandler {
    Response Render() override { return Response{500, {}, ""}; }
    std::unique_ptr<RouteHandler> Detach() const override { return nullptr; }
  } no_handler;
  Call call{request, policy, no_handler, now, key, generation_.load()};
  return ServeHit(call, *held);
}

Response HttpCache::Lookup(Call& call) {
  std::optional<StoredResponse> stored;
  if (NeedsLookup(call.request, call.policy)) {
    call.key = internal::KeyFor(call.request, call.policy);
    if (call.key.empty()) return Bypass(call, Forward::kBypass, "no-key");
    auto found = LookupServable(call);
    if (!found.ok()) {
      metrics_->CountStoreError(RouteLabel(call.policy), "lookup");
      LogStoreError("lookup", call.policy, found.status(), "serving from the handler");
      return Bypass(call, Forward::kBypass, "store-unavailable");
    }
    stored = *std::move(found);
  }
  const Decision decision = internal::DecideStored(
      call.request, call.policy, stored.has_value() ? &*stored : nullptr, call.now);
  if ((decision.action == Action::kMiss || decision.action == Action::kBypass) &&
      OnlyIfCached(call.request)) {
    return GatewayTimeout(call);
  }
  switch (decision.action) {
    case Action::kServe:
    case Action::kNotModified:
      return ServeHit(call, *stored);
    case Action::kStale:
      return ServeStale(call, *stored);
    case Action::kMiss:
      return Miss(call, decision, stored);
    case Action::kBypass:
      break;
  }
  return Bypass(call, decision.forward, decision.detail);
}

// The stored record of the call's key, or nullopt when there is none or it is refused: a record
// the store could not decode (kDataLoss) or that ValidateRecord refuses is counted as
// operation="decode", logged without its values, and treated as a miss (the render replaces it).
absl::StatusOr<std::optional<StoredResponse>> HttpCache::LookupServable(const Call& call) {
  auto found = internal::LookupVariant(*store_, call.policy.cache_namespace, call.key, call.request,
                                       ResponseStore::LookupPurpose::kServe);
  if (found.ok()) return found;
  if (found.status().code() != absl::StatusCode::kDataLoss) return found.status();
  const absl::Status refused = found.status();
  metrics_->CountStoreError(RouteLabel(call.policy), "decode");
  log_->Log("decode",
            absl::StrCat("refused a stored HTTP record of route ", RouteLabel(call.policy), ": ",
                         refused.message(), "; treated as a miss"));
  return std::optional<StoredResponse>();
}

Response HttpCache::ServeHit(Call& call, const StoredResponse& stored) {
  Delivery delivery;
  delivery.cache_result = "HIT";
  delivery.status.hit = true;
  delivery.status.ttl = stored.meta.fresh_until - call.now;
  delivery.age = call.now - stored.meta.stored_at;
  return ServeStored(call, stored, std::move(delivery), "hit");
}

std::optional<StoredResponse> HttpCache::LookupFresh(Call& call) {
  auto found = internal::LookupVariant(*store_, call.policy.cache_namespace, call.key, call.request,
                                       ResponseStore::LookupPurpose::kRecheck);
  // A refused record was counted by the lookup that made this a miss; the render replaces it.
  if (!found.ok() || !found->has_value()) return std::nullopt;
  const Action action =
      internal::DecideStored(call.request, call.policy, &**found, call.now).action;
  if (action != Action::kServe && action != Action::kNotModified) return std::nullopt;
  return *std::move(*found);
}

Response HttpCache::Bypass(Call& call, Forward forward, absl::string_view detail) {
  Response response = call.handler.Render();
  EnsureEtag(response);
  Delivery delivery;
  delivery.cache_result = "MISS";
  delivery.status.forward = forward;
  delivery.status.detail = std::string(detail);
  return Finish(call, std::move(response), delivery, "bypass");
}

// only-if-cached and nothing usable stored (RFC 9111 section 5.2.1.7).
Response HttpCache::GatewayTimeout(Call& call) {
  Delivery delivery;
  delivery.cache_result = "MISS";
  delivery.status.detail = "only-if-cached";
  return Finish(call, Response{504, {}, ""}, delivery, "miss");
}

Response HttpCache::HandleWrite(Call& call) {
  Response response = call.handler.Render();
  if (call.policy.invalidate_on_write && internal::InvalidatesOnWrite(call.request, response)) {
    InvalidateAfterWrite(call, response);
  }
  CacheStatus status;
  status.forward = Forward::kMethod;
  response.headers.Set("Cache-Status", FormatCacheStatus(options_.outgoing.cache_name, status));
  metrics_->CountResponse(RouteLabel(call.policy), "bypass");
  return response;
}

void HttpCache::LogStoreError(absl::string_view operation, const RoutePolicy& policy,
                              const absl::Status& why, absl::string_view consequence) {
  log_->Log(operation,
            absl::StrCat("route ", RouteLabel(policy), ": larder ", operation, " failed (",
                         client::internal::LoggableText(why.ToString()), "); ", consequence));
}

void HttpCache::InvalidateAfterWrite(const Call& call, const Response& response) {
  for (const std::string& path : internal::InvalidatedPaths(call.request, response)) {
    if (absl::Status done = InvalidatePath(call.policy.cache_namespace, path).status();
        !done.ok()) {
      metrics_->CountStoreError(RouteLabel(call.policy), "invalidate");
      LogStoreError("invalidate", call.policy, done,
                    "stored responses may be served until they expire");
    }
  }
}

Response HttpCache::Miss(Call& call, const Decision& decision,
                         const std::optional<StoredResponse>& stored) {
  if (call.key.empty()) call.key = internal::KeyFor(call.request, call.policy);
  if (call.key.empty()) return Bypass(call, Forward::kBypass, "no-key");
  const std::string flight_key = FlightKey(call.policy, call.key);
  const bool coalesced = decision.coalesce && call.policy.coalesce;
  internal::Coalescer::Ticket ticket;
  if (coalesced) {
    ticket = coalescer_->Join(flight_key, /*may_lead=*/decision.store);
    if (ticket.flight != nullptr && !ticket.leader) {
      metrics_->CountCollapsed(RouteLabel(call.policy));
      std::optional<StoredResponse> shared = ticket.flight->Wait();
      if (shared.has_value() && internal::VariantMatches(*shared, call.request)) {
        return ServeCollapsed(call, decision, *shared, ticket.flight->revalidated());
      }
      ticket = {};  // Nothing shareable (or another variant): render for ourselves.
    }
  }
  internal::LeaderGuard guard(coalescer_.get(), flight_key,
                              ticket.leader ? ticket.flight : nullptr);
  if (ticket.leader) {
    // A leader that finished between our lookup and our Join may have stored it already.
    if (std::optional<StoredResponse> fresh = LookupFresh(call)) {
      guard.Land(fresh);
      return ServeHit(call, *fresh);
    }
  }
  // Fleet-wide single flight: only for the one render of this process that would store a pure
  // miss (never a revalidation, nor a follower rendering for itself).
  const bool may_lease = decision.store && !stored.has_value() &&
                         call.policy.lease_wait > absl::ZeroDuration() &&
                         (ticket.leader || !coalesced);
  return LeaseAndRender(call, decision, stored, guard, may_lease);
}

// With `may_lease`, takes the key's lease first, or serves the response another process stored
// while this one waited for its lease (as collapsed); then renders, storing with the lease.
Response HttpCache::LeaseAndRender(Call& call, const Decision& decision,
                                   const std::optional<StoredResponse>& stored,
                                   internal::LeaderGuard& guard, bool may_lease) {
  internal::FleetLease lease(*store_, call.policy.cache_namespace, call.key);
  if (may_lease &&
      lease.Acquire(call.policy.lease_wait, wait_clock(), *metrics_, RouteLabel(call.policy)) ==
          internal::FleetLease::Outcome::kLookup) {
    if (std::optional<StoredResponse> fresh = LookupFresh(call)) {
      guard.Land(fresh);
      return lease.waited() ? ServeCollapsed(call, decision, *fresh, /*revalidated=*/false)
                            : ServeHit(call, *fresh);
    }
  }
  return RenderMiss(call, decision, stored, guard, lease);
}

Response HttpCache::RenderMiss(Call& call, const Decision& decision,
                               const std::optional<StoredResponse>& stored,
                               internal::LeaderGuard& guard, internal::FleetLease& lease) {
  internal::Rendered rendered = internal::RenderRevalidating(call.handler, stored, call.request);
  if (rendered.failed() && decision.stale_if_error && stored.has_value()) {
    return ServeStored(call, *stored, StaleIfErrorDelivery(*stored, call.now, rendered.status()),
                       "stale");
  }
  if (rendered.error != nullptr) std::rethrow_exception(rendered.error);
  Response response = *std::move(rendered.response);
  EnsureEtag(response);
  std::optional<StoredResponse> kept;
  if (decision.store) {
    kept = StoreRendered(call.request, call.policy, call.key, response,
                         {call.now, call.generation, &lease});
  }
  Delivery delivery;
  delivery.cache_result = "MISS";
  delivery.status.forward = decision.forward;
  delivery.status.stored = kept.has_value();
  if (rendered.revalidated) delivery.status.detail = "revalidated";
  guard.Land(std::move(kept), rendered.revalidated);
  return Finish(call, std::move(response), delivery, "miss");
}

namespace {

// The record kept for `response`, fresh as `freshness` says from `now`.
StoredResponse BuildRecord(const Request& request, const Response& response,
                           const internal::Freshness& freshness, absl::Time now,
                           absl::string_view cache_header) {
  StoredResponse record;
  record.response.status = response.status;
  record.response.headers = StorableHeaders(response.headers, cache_header);
  record.response.body = response.body;
  record.meta.etag = response.headers.Get("ETag").value_or("");
  // now - stored_at is the current age (RFC 9111 section 4.2.3).
  record.meta.stored_at = now - freshness.corrected_initial_age;
  record.meta.fresh_until = record.meta.stored_at + freshness.lifetime;
  record.meta.variant = internal::VariantOf(response.headers, request);
  return record;
}

}  // namespace

std::optional<StoredResponse> HttpCache::StoreRendered(const Request& request,
                                                       const RoutePolicy& policy,
                                                       const std::string& key,
                                                       const Response& response,
                                                       const RenderStart& start) {
  if (!CheckStorable(request, response, policy).storable) return std::nullopt;
  const absl::Time now = clock_->Now();
  const internal::Freshness freshness =
      internal::ComputeFreshness(response, policy, start.request_time, now);
  if (!freshness.storable) return std::nullopt;
  absl::StatusOr<std::vector<std::string>> tags = StoredTags(request, response, policy);
  if (!tags.ok()) {
    metrics_->CountStoreError(RouteLabel(policy), "tags");
    return std::nullopt;
  }
  StoredResponse record =
      BuildRecord(request, response, freshness, now, options_.outgoing.cache_header);
  if (absl::Status replayable = internal::ValidateRecord(record); !replayable.ok()) {
    metrics_->CountStoreError(RouteLabel(policy), "encode");
    log_->Log("encode", absl::StrCat("not storing a response of route ", RouteLabel(policy), ": ",
                                     replayable.message()));
    return std::nullopt;
  }
  // Kept past its lifetime for its stale windows and, with a validator, for revalidation.
  const absl::Duration keep = internal::KeepFor(record, policy, now);
  if (!StoreUnlessInvalidated(policy, key, record, keep, *tags, start)) {
    return std::nullopt;
  }
  return record;
}

// A render never stores over an invalidation this process made after the render started: the
// generation is checked before storing, and again after, removing what was just stored (the
// key and its variants) when an invalidation ran meanwhile. One made by another process is
// caught by larderd when the render holds the key's lease: it voids the lease, and the store
// with its token is refused (stale_set_prevented, not an error).
bool HttpCache::StoreUnlessInvalidated(const RoutePolicy& policy, const std::string& key,
                                       const StoredResponse& record, absl::Duration keep,
                                       const std::vector<std::string>& tags,
                                       const RenderStart& start) {
  std::string token;
  if (start.lease != nullptr) {  // Used below, or voided by this process's invalidation.
    token = start.lease->token();
    start.lease->Settle();
  }
  if (generation_.load() != start.generation) return false;
  absl::StatusOr<bool> stored =
      internal::StoreVariant(*store_, policy.cache_namespace, key, record, keep, tags, token);
  if (!stored.ok()) {
    metrics_->CountStoreError(RouteLabel(policy), "store");
    LogStoreError("store", policy, stored.status(), "the response was served, not stored");
    return false;
  }
  if (!*stored) {
    metrics_->CountLease(RouteLabel(policy), "stale_set_prevented");
    return false;
  }
  if (generation_.load() == start.generation) return true;
  if (absl::Status done = store_->InvalidatePrefix(policy.cache_namespace, key).status();
      !done.ok()) {
    metrics_->CountStoreError(RouteLabel(policy), "invalidate");
    LogStoreError("invalidate", policy, done, "stored responses may be served until they expire");
  }
  return false;
}

Response HttpCache::ServeCollapsed(Call& call, const Decision& decision,
                                   const StoredResponse& shared, bool revalidated) {
  Delivery delivery;
  delivery.cache_result = "HIT";
  delivery.status.forward = decision.forward;
  delivery.status.collapsed = true;
  if (revalidated) delivery.status.detail = "revalidated";
  delivery.age = clock_->Now() - shared.meta.stored_at;
  return ServeStored(call, shared, std::move(delivery), "hit");
}

Response HttpCache::ServeStale(Call& call, const StoredResponse& stored) {
  if (call.request.method == "GET") {
    std::shared_ptr<RouteHandler> detached = call.handler.Detach();
    if (detached == nullptr) {
      Decision decision = Decide(call.request, call.policy, nullptr, call.now);
      decision.forward = Forward::kStale;
      decision.stale_if_error = true;
      return Miss(call, decision, stored);
    }
    const auto scheduled =
        refresher_->Schedule(FlightKey(call.policy, call.key),
                             [this, request = call.request, policy = call.policy, key = call.key,
                              of = RefreshOf{call.generation, stored},
                              detached] { Refresh(request, policy, key, of, *detached); });
    if (scheduled == internal::Refresher::Scheduled::kQueueFull) {
      metrics_->CountRefresh(RouteLabel(call.policy), "skipped");
    }
  }
  return ServeStored(call, stored, StaleDelivery(stored, call.now, "stale-while-revalidate"),
                     "stale");
}

void HttpCache::Refresh(const Request& request, const RoutePolicy& policy, const std::string& key,
                        const RefreshOf& of, RouteHandler& handler) {
  const RenderStart start{clock_->Now(), of.generation};
  internal::Rendered rendered = internal::RenderRevalidating(handler, of.stored, request);
  if (rendered.failed()) {
    metrics_->CountRefresh(RouteLabel(policy), "failed");
    return;
  }
  EnsureEtag(*rendered.response);
  const bool stored = StoreRendered(request, policy, key, *rendered.response, start).has_value();
  metrics_->CountRefresh(RouteLabel(policy), stored ? "stored" : "not_stored");
}

Response HttpCache::ServeStored(Call& call, const StoredResponse& stored, Delivery delivery,
                                absl::string_view label) {
  return Finish(call, stored.response, delivery, label);
}

Response HttpCache::Finish(Call& call, Response response, const Delivery& delivery,
                           absl::string_view label) {
  Decorate(response, call.request, call.policy, delivery, options_.outgoing);
  if (response.status >= 200 && response.status <= 299) {
    std::optional<std::string> last_modified_header = response.headers.Get("Last-Modified");
    std::optional<absl::Time> last_modified;
    if (last_modified_header.has_value()) last_modified = ParseHttpDate(*last_modified_header);
    if (EvaluateConditional(call.request.headers, response.headers.Get("ETag").value_or(""),
                            last_modified) == Conditional::kNotModified) {
      response = MakeNotModified(response, {options_.outgoing.cache_header});
      label = "not_modified";
    }
  }
  metrics_->CountResponse(RouteLabel(call.policy), label);
  return response;
}

absl::StatusOr<int64_t> HttpCache::InvalidateTag(absl::string_view cache_namespace,
                                                 absl::string_view tag) {
  generation_.fetch_add(1);
  return store_->InvalidateTag(cache_namespace, tag);
}

absl::StatusOr<int64_t> HttpCache::InvalidatePath(absl::string_view cache_namespace,
                                                  absl::string_view path) {
  generation_.fetch_add(1);
  return store_->InvalidateTag(cache_namespace, PathTag(path));
}

void HttpCache::WaitForRefreshes() { refresher_->WaitIdle(); }

const WaitClock& HttpCache::wait_clock() const {
  return options_.wait_clock != nullptr ? *options_.wait_clock : WaitClock::Real();
}

}  // namespace larder::http

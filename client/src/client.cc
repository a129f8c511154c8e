// larder::Client: each public call builds its request, starts a UnaryCall and converts the
// response. Synchronous calls and future-returning calls wrap the callback ones.
#include "larder/client.h"

#include <utility>

#include "client/src/client_core.h"
#include "client/src/client_impl.h"
#include "client/src/near_call.h"
#include "client/src/proto_conversion.h"
#include "client/src/unary_call.h"

namespace larder {

using client::internal::ClientCore;
using client::internal::FromGetResponse;
using client::internal::FromLeaseResponse;
using client::internal::FromSetResponse;
using client::internal::FromStatsResponse;
using client::internal::Idempotency;
using client::internal::IdempotencyOf;
using client::internal::NearCall;
using client::internal::Rpcs;
using client::internal::StartUnaryCall;

namespace {

// Runs a callback-style call and returns its outcome as a future.
template <typename T, typename StartFn>
std::future<absl::StatusOr<T>> AsFuture(StartFn start) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> future = promise->get_future();
  start([promise](absl::StatusOr<T> outcome) { promise->set_value(std::move(outcome)); });
  return future;
}

// Counts each result of a Get or MultiGet as a hit or a miss.
void RecordLookups(ClientMetrics& metrics, absl::string_view namespace_name,
                   const GetResult& result) {
  metrics.RecordLookup(namespace_name, result.found ? LookupResult::kHit : LookupResult::kMiss);
}

// The key a write's callback invalidates in the near cache: copied only when there is one.
std::string NearKey(const NearCall& near, absl::string_view key) {
  return near.enabled() ? std::string(key) : std::string();
}

// A Lease answered by the near cache: the live entry, nothing else.
LeaseResult NearLease(GetResult hit) {
  LeaseResult result;
  result.entry = std::move(hit);
  return result;
}

// What Lease answers, without an RPC, once larderd answered it UNIMPLEMENTED.
absl::Status LeasesUnimplemented() {
  return absl::UnimplementedError("Lease: larderd answered UNIMPLEMENTED before (no leases)");
}

}  // namespace

absl::StatusOr<std::shared_ptr<Client>> Client::Create(ClientOptions options) {
  auto core = ClientCore::Create(std::move(options));
  if (!core.ok()) return core.status();
  return std::shared_ptr<Client>(new Client(std::make_unique<Impl>(*std::move(core))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

ClientMetrics& Client::metrics() const { return impl_->core().metrics(); }
const std::shared_ptr<prometheus::Registry>& Client::metrics_registry() const {
  return impl_->core().metrics().registry();
}
const Clock& Client::clock() const { return impl_->core().clock(); }
const ClientOptions& Client::options() const { return impl_->core().options(); }

// --- Callback calls ---------------------------------------------------------------------------

void Client::GetAsync(absl::string_view namespace_name, absl::string_view key,
                      const GetOptions& options, Callback<GetResult> done) {
  ClientCore& core = impl_->core();
  NearCall near(core, namespace_name);
  if (std::optional<GetResult> hit = near.Lookup(key, options.if_none_match)) {
    if (options.record_lookup) RecordLookups(core.metrics(), namespace_name, *hit);
    // Callbacks never run on the caller's thread: the timer thread answers it.
    core.RunAt(absl::InfinitePast(),
               [hit = *std::move(hit), done = std::move(done)]() mutable { done(std::move(hit)); });
    return;
  }
  near.BeginFetch();
  v1::GetRequest request;
  request.set_namespace_(std::string(namespace_name));
  request.set_key(std::string(key));
  request.set_if_none_match(options.if_none_match);
  std::string near_key = near.enabled() ? std::string(key) : std::string();
  auto on_done = [&core, name = std::string(namespace_name), record = options.record_lookup,
                  near = std::move(near), near_key = std::move(near_key),
                  done = std::move(done)](absl::Status status, v1::GetResponse& response) mutable {
    if (!status.ok()) {
      if (record) core.metrics().RecordLookupError(name, status.code());
      return done(std::move(status));
    }
    GetResult result = FromGetResponse(response);
    near.Install(near_key, result);
    if (record) RecordLookups(core.metrics(), name, result);
    done(std::move(result));
  };
  StartUnaryCall<v1::GetRequest, v1::GetResponse>(core, "Get", &Rpcs::Get, Idempotency::kIdempotent,
                                                  std::move(request), std::move(on_done));
}

void Client::SetAsync(absl::string_view namespace_name, absl::string_view key,
                      absl::string_view value, const SetOptions& options,
                      Callback<SetResult> done) {
  NearCall near(impl_->core(), namespace_name);
  std::string near_key = NearKey(near, key);
  auto on_done = [near = std::move(near), near_key = std::move(near_key), done = std::move(done)](
                     absl::Status status, v1::SetResponse& response) mutable {
    near.InvalidateKey(near_key);
    if (!status.ok()) return done(std::move(status));
    done(FromSetResponse(response));
  };
  StartUnaryCall<v1::SetRequest, v1::SetResponse>(
      impl_->core(), "Set", &Rpcs::Set, IdempotencyOf(options),
      client::internal::ToSetRequest(namespace_name, key, value, options), std::move(on_done));
}

void Client::DeleteAsync(absl::string_view namespace_name, absl::string_view key,
                         Callback<bool> done) {
  v1::DeleteRequest request;
  request.set_namespace_(std::string(namespace_name));
  request.set_key(std::string(key));
  NearCall near(impl_->core(), namespace_name);
  std::string near_key = NearKey(near, key);
  auto on_done = [near = std::move(near), near_key = std::move(near_key), done = std::move(done)](
                     absl::Status status, v1::DeleteResponse& response) mutable {
    near.InvalidateKey(near_key);
    if (!status.ok()) return done(std::move(status));
    done(response.deleted());
  };
  StartUnaryCall<v1::DeleteRequest, v1::DeleteResponse>(impl_->core(), "Delete", &Rpcs::Delete,
                                                        Idempotency::kIdempotent,
                                                        std::move(request), std::move(on_done));
}

void Client::TouchAsync(absl::string_view namespace_name, absl::string_view key,
                        std::optional<absl::Duration> ttl, Callback<TouchResult> done) {
  v1::TouchRequest request;
  request.set_namespace_(std::string(namespace_name));
  request.set_key(std::string(key));
  if (ttl.has_value()) client::internal::ToProtoDuration(*ttl, request.mutable_ttl());
  NearCall near(impl_->core(), namespace_name);
  std::string near_key = NearKey(near, key);
  auto on_done = [near = std::move(near), near_key = std::move(near_key), done = std::move(done)](
                     absl::Status status, v1::TouchResponse& response) mutable {
    near.InvalidateKey(near_key);
    if (!status.ok()) return done(std::move(status));
    done(TouchResult{response.found(), response.etag()});
  };
  StartUnaryCall<v1::TouchRequest, v1::TouchResponse>(impl_->core(), "Touch", &Rpcs::Touch,
                                                      Idempotency::kIdempotent, std::move(request),
                                                      std::move(on_done));
}

void Client::MultiGetAsync(absl::string_view namespace_name, const std::vector<std::string>& keys,
                           Callback<std::vector<GetResult>> done) {
  MultiGetAsync(namespace_name, keys, MultiGetOptions(), std::move(done));
}

void Client::MultiGetAsync(absl::string_view namespace_name, const std::vector<std::string>& keys,
                           const MultiGetOptions& options, Callback<std::vector<GetResult>> done) {
  v1::MultiGetRequest request;
  request.set_namespace_(std::string(namespace_name));
  for (const std::string& key : keys) request.add_keys(key);
  ClientCore& core = impl_->core();
  auto on_done = [&core, name = std::string(namespace_name), record = options.record_lookup,
                  done = std::move(done)](absl::Status status, v1::MultiGetResponse& response) {
    if (!status.ok()) {
      if (record) core.metrics().RecordLookupError(name, status.code());
      return done(std::move(status));
    }
    std::vector<GetResult> results;
    results.reserve(static_cast<size_t>(response.results_size()));
    for (v1::GetResponse& one : *response.mutable_results()) {
      results.push_back(FromGetResponse(one));
      if (record) RecordLookups(core.metrics(), name, results.back());
    }
    done(std::move(results));
  };
  StartUnaryCall<v1::MultiGetRequest, v1::MultiGetResponse>(core, "MultiGet", &Rpcs::MultiGet,
                                                            Idempotency::kIdempotent,
                                                            std::move(request), std::move(on_done));
}

void Client::MultiSetAsync(absl::string_view namespace_name, const std::vector<SetEntry>& entries,
                           Callback<std::vector<SetResult>> done) {
  v1::MultiSetRequest request;
  request.set_namespace_(std::string(namespace_name));
  for (const SetEntry& entry : entries) {
    *request.add_entries() =
        client::internal::ToSetRequest("", entry.key, entry.value, entry.options);
  }
  NearCall near(impl_->core(), namespace_name);
  std::vector<std::string> near_keys;
  if (near.enabled()) {
    for (const SetEntry& entry : entries) near_keys.push_back(entry.key);
  }
  auto on_done = [near = std::move(near), near_keys = std::move(near_keys), done = std::move(done)](
                     absl::Status status, v1::MultiSetResponse& response) mutable {
    for (const std::string& key : near_keys) near.InvalidateKey(key);
    if (!status.ok()) return done(std::move(status));
    std::vector<SetResult> results;
    for (const v1::SetResponse& one : response.results()) results.push_back(FromSetResponse(one));
    done(std::move(results));
  };
  StartUnaryCall<v1::MultiSetRequest, v1::MultiSetResponse>(impl_->core(), "MultiSet",
                                                            &Rpcs::MultiSet, IdempotencyOf(entries),
                                                            std::move(request), std::move(on_done));
}

void Client::InvalidateAsync(absl::string_view namespace_name, const InvalidateTarget& target,
                             Callback<int64_t> done) {
  NearCall near(impl_->core(), namespace_name);
  auto on_done = [near = std::move(near), target, done = std::move(done)](
                     absl::Status status, v1::InvalidateResponse& response) mutable {
    near.Invalidate(target);
    if (!status.ok()) return done(std::move(status));
    done(response.deleted());
  };
  StartUnaryCall<v1::InvalidateRequest, v1::InvalidateResponse>(
      impl_->core(), "Invalidate", &Rpcs::Invalidate, Idempotency::kIdempotent,
      client::internal::ToInvalidateRequest(namespace_name, target), std::move(on_done));
}

void Client::StatsAsync(absl::string_view namespace_name, Callback<CacheStats> done) {
  v1::StatsRequest request;
  request.set_namespace_(std::string(namespace_name));
  auto on_done = [done = std::move(done)](absl::Status status, v1::StatsResponse& response) {
    if (!status.ok()) return done(std::move(status));
    done(FromStatsResponse(response));
  };
  StartUnaryCall<v1::StatsRequest, v1::StatsResponse>(impl_->core(), "Stats", &Rpcs::Stats,
                                                      Idempotency::kIdempotent, std::move(request),
                                                      std::move(on_done));
}

void Client::LeaseAsync(absl::string_view namespace_name, absl::string_view key,
                        absl::Duration lease_ttl, Callback<LeaseResult> done) {
  ClientCore& core = impl_->core();
  if (core.leases_unimplemented()) {
    // No RPC; answered on the timer thread (which runs it at the latest when the client is
    // destroyed), since callbacks never run on the caller's thread.
    core.RunAt(absl::InfinitePast(), [done = std::move(done)] { done(LeasesUnimplemented()); });
    return;
  }
  NearCall near(core, namespace_name);
  if (std::optional<GetResult> hit = near.Lookup(key, "")) {
    core.RunAt(absl::InfinitePast(), [hit = *std::move(hit), done = std::move(done)]() mutable {
      done(NearLease(std::move(hit)));
    });
    return;
  }
  near.BeginFetch();
  std::string near_key = NearKey(near, key);
  auto on_done = [&core, near = std::move(near), near_key = std::move(near_key),
                  done = std::move(done)](absl::Status status,
                                          v1::LeaseResponse& response) mutable {
    if (status.code() == absl::StatusCode::kUnimplemented) core.set_leases_unimplemented();
    if (!status.ok()) return done(std::move(status));
    LeaseResult result = FromLeaseResponse(response);
    near.Install(near_key, result.entry);
    done(std::move(result));
  };
  StartUnaryCall<v1::LeaseRequest, v1::LeaseResponse>(
      core, "Lease", &Rpcs::Lease, Idempotency::kAtMostOnce,
      client::internal::ToLeaseRequest(namespace_name, key, lease_ttl), std::move(on_done));
}

// --- Futures ----------------------------------------------------------------------------------

std::future<absl::StatusOr<GetResult>> Client::GetAsync(absl::string_view namespace_name,
                                                        absl::string_view key,
                                                        const GetOptions& options) {
  return AsFuture<GetResult>(
      [&](Callback<GetResult> done) { GetAsync(namespace_name, key, options, std::move(done)); });
}

std::future<absl::StatusOr<SetResult>> Client::SetAsync(absl::string_view namespace_name,
                                                        absl::string_view key,
                                                        absl::string_view value,
                                                        const SetOptions& options) {
  return AsFuture<SetResult>([&](Callback<SetResult> done) {
    SetAsync(namespace_name, key, value, options, std::move(done));
  });
}

std::future<absl::StatusOr<bool>> Client::DeleteAsync(absl::string_view namespace_name,
                                                      absl::string_view key) {
  return AsFuture<bool>(
      [&](Callback<bool> done) { DeleteAsync(namespace_name, key, std::move(done)); });
}

std::future<absl::StatusOr<TouchResult>> Client::TouchAsync(absl::string_view namespace_name,
                                                            absl::string_view key,
                                                            std::optional<absl::Duration> ttl) {
  return AsFuture<TouchResult>(
      [&](Callback<TouchResult> done) { TouchAsync(namespace_name, key, ttl, std::move(done)); });
}

std::future<absl::StatusOr<std::vector<GetResult>>> Client::MultiGetAsync(
    absl::string_view namespace_name, const std::vector<std::string>& keys) {
  return AsFuture<std::vector<GetResult>>([&](Callback<std::vector<GetResult>> done) {
    MultiGetAsync(namespace_name, keys, std::move(done));
  });
}

std::future<absl::StatusOr<std::vector<SetResult>>> Client::MultiSetAsync(
    absl::string_view namespace_name, const std::vector<SetEntry>& entries) {
  return AsFuture<std::vector<SetResult>>([&](Callback<std::vector<SetResult>> done) {
    MultiSetAsync(namespace_name, entries, std::move(done));
  });
}

std::future<absl::StatusOr<int64_t>> Client::InvalidateAsync(absl::string_view namespace_name,
                                                             const InvalidateTarget& target) {
  return AsFuture<int64_t>(
      [&](Callback<int64_t> done) { InvalidateAsync(namespace_name, target, std::move(done)); });
}

std::future<absl::StatusOr<CacheStats>> Client::StatsAsync(absl::string_view namespace_name) {
  return AsFuture<CacheStats>(
      [&](Callback<CacheStats> done) { StatsAsync(namespace_name, std::move(done)); });
}

std::future<absl::StatusOr<LeaseResult>> Client::LeaseAsync(absl::string_view namespace_name,
                                                            absl::string_view key,
                                                            absl::Duration lease_ttl) {
  return AsFuture<LeaseResult>([&](Callback<LeaseResult> done) {
    LeaseAsync(namespace_name, key, lease_ttl, std::move(done));
  });
}

// --- Synchronous calls ------------------------------------------------------------------------

absl::StatusOr<GetResult> Client::Get(absl::string_view namespace_name, absl::string_view key,
                                      const GetOptions& options) {
  // A near hit is answered here, without the timer thread's hop the callback form needs.
  if (std::optional<GetResult> hit =
          NearCall::LookupIn(impl_->core(), namespace_name, key, options.if_none_match)) {
    if (options.record_lookup) RecordLookups(impl_->core().metrics(), namespace_name, *hit);
    return *std::move(hit);
  }
  return GetAsync(namespace_name, key, options).get();
}

std::optional<GetResult> Client::GetNear(absl::string_view namespace_name, absl::string_view key,
                                         const GetOptions& options) {
  std::optional<GetResult> hit = NearCall::LookupIn(impl_->core(), namespace_name, key,
                                                    options.if_none_match, /*count_miss=*/false);
  if (hit.has_value() && options.record_lookup) {
    RecordLookups(impl_->core().metrics(), namespace_name, *hit);
  }
  return hit;
}

absl::StatusOr<SetResult> Client::Set(absl::string_view namespace_name, absl::string_view key,
                                      absl::string_view value, const SetOptions& options) {
  return SetAsync(namespace_name, key, value, options).get();
}

absl::StatusOr<bool> Client::Delete(absl::string_view namespace_name, absl::string_view key) {
  return DeleteAsync(namespace_name, key).get();
}

absl::StatusOr<TouchResult> Client::Touch(absl::string_view namespace_name, absl::string_view key,
                                          std::optional<absl::Duration> ttl) {
  return TouchAsync(namespace_name, key, ttl).get();
}

absl::StatusOr<std::vector<GetResult>> Client::MultiGet(absl::string_view namespace_name,
                                                        const std::vector<std::string>& keys) {
  return MultiGetAsync(namespace_name, keys).get();
}

absl::StatusOr<std::vector<SetResult>> Client::MultiSet(absl::string_view namespace_name,
                                                        const std::vector<SetEntry>& entries) {
  return MultiSetAsync(namespace_name, entries).get();
}

absl::StatusOr<int64_t> Client::Invalidate(absl::string_view namespace_name,
                                           const InvalidateTarget& target) {
  return InvalidateAsync(namespace_name, target).get();
}

absl::StatusOr<CacheStats> Client::Stats(absl::string_view namespace_name) {
  return StatsAsync(namespace_name).get();
}

absl::StatusOr<LeaseResult> Client::Lease(absl::string_view namespace_name, absl::string_view key,
                                          absl::Duration lease_ttl) {
  if (impl_->core().leases_unimplemented()) return LeasesUnimplemented();
  if (std::optional<GetResult> hit = NearCall::LookupIn(impl_->core(), namespace_name, key, "")) {
    return NearLease(*std::move(hit));
  }
  return LeaseAsync(namespace_name, key, lease_ttl).get();
}

}  // namespace larder

// larder::Cached: wraps a function so its results are cached in larder — the C++ counterpart
// of fastapi-cache's @cache decorator, with single-flight, fail-open and stale-while-revalidate.
//
//   User LoadUser(int64_t id);                                  // the slow function
//   larder::CachedOptions options;
//   options.namespace_name = "users";
//   options.function_name = "get_user";
//   options.ttl = absl::Minutes(5);
//   auto get_user = larder::Cached(client, options, LoadUser);  // same signature: User(int64_t)
//   User user = get_user(42);
//   get_user.Invalidate(42);                                    // after an update
//
// A call builds the key (larder::MakeKey(function_name, args…) unless WithKeyBuilder), then:
//   fresh value stored  -> decoded and returned (result "hit");
//   nothing stored      -> fn runs, its result is returned and stored ("miss");
//   value past its ttl but inside stale_while_revalidate -> this caller runs fn and stores the
//                          fresh result, while callers arriving meanwhile get the stale value
//                          at once ("stale");
//   larder failing (down, slower than the client deadline, refusing the key, the value or the
//                          ttl, a response over ClientOptions::max_receive_message_bytes) -> fn
//                          runs and its result is returned ("error", labelled with the status
//                          code in larder_client_lookup_errors_total, logged at most once a
//                          minute per code): fail-open. A store the server refuses after a
//                          lookup found nothing is an "error" too, never a "miss".
//   options invalid (ValidateCachedOptions, checked once at creation) -> every call runs fn
//                          and counts as "error" (INVALID_ARGUMENT); status() says why.
// Concurrent calls with one key in a process share one lookup and one run of fn (single-flight).
// With CachedOptions::fleet_single_flight (the default) that lookup is a Client::Lease, so
// across every process one caller runs fn on a miss (the lease's holder, which stores with its
// token) while the others wait for its value (polling, or woken by the Watch stream when the
// namespace is near-cached), or serve the stale value larderd kept ("stale"); after lease_wait
// they run fn themselves (fail-open). A value computed before a write, Delete or Invalidate of
// its key is then refused by larderd instead of stored (counted in larder_client_leases_total,
// still returned). A larderd without leases: plain Get, as before.
// A value that fails to decode counts in larder_client_coder_errors_total and is a miss.
// Exceptions from fn reach the caller (and callers waiting on it) and are never cached.
// fn must not call the same cached function with the same arguments (it would wait on itself).
//
// Thread-safety: a CachedFunction may be called from many threads at once; copies share their
// single-flight state. fn is called on the caller's thread, with the caller's arguments.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "larder/cached_options.h"
#include "larder/client.h"
#include "larder/coder.h"
#include "larder/internal/cache_runtime.h"
#include "larder/internal/callable_traits.h"
#include "larder/internal/single_flight.h"
#include "larder/key_builder.h"

namespace larder {

// The coder placeholder of Cached(): CoderFor<R>, resolved only when used, so WithCoder works
// for result types that have no default coder.
struct UseDefaultCoder {};

template <typename Fn, typename Signature, typename Coder, typename KeyBuilder>
class CachedFunction;

template <typename Fn, typename R, typename... Args, typename Coder, typename KeyBuilder>
class CachedFunction<Fn, R(Args...), Coder, KeyBuilder> {
  static_assert(!std::is_void_v<R> && !std::is_reference_v<R>,
                "a cached function must return a value");
  static_assert(std::is_copy_constructible_v<R>, "a cached result must be copyable");

  using ResolvedCoder =
      std::conditional_t<std::is_same_v<Coder, UseDefaultCoder>, CoderFor<R>, Coder>;

 public:
  CachedFunction(std::shared_ptr<Client> client, CachedOptions options, Fn fn, Coder coder,
                 KeyBuilder key_builder)
      : state_(std::make_shared<State>(std::move(client), std::move(options), std::move(fn),
                                       std::move(coder), std::move(key_builder))) {}

  // Calls through the cache; see the top of this file.
  R operator()(Args... args) const {
    State& state = *state_;
    if (!state.runtime.caching()) return std::invoke(state.fn, std::forward<Args>(args)...);
    if (!state.runtime.validation().ok()) {
      state.runtime.RecordError(state.runtime.validation());
      return std::invoke(state.fn, std::forward<Args>(args)...);
    }
    absl::StatusOr<std::string> key = KeyFor(args...);
    if (!key.ok()) {
      state.runtime.RecordError(key.status());
      return std::invoke(state.fn, std::forward<Args>(args)...);
    }
    auto joined = state.flights.Join(*key);
    if (!joined.leader) {
      state.runtime.RecordSingleFlightWait();
      auto outcome = joined.flight->Wait();
      state.runtime.RecordOutcome(outcome.result, outcome.error);
      return std::move(outcome.value);
    }
    FinishFlight finish{state.flights, *key, joined.flight};
    try {
      return Lead(*key, *joined.flight, std::forward<Args>(args)...);
    } catch (...) {
      joined.flight->PublishException(std::current_exception());
      throw;
    }
  }

  // OK, or why the options are invalid (ValidateCachedOptions): then every call goes straight
  // to the function and counts as `error` with code INVALID_ARGUMENT.
  const absl::Status& status() const { return state_->runtime.validation(); }

  // The key a call with these arguments uses (inside options().namespace_name).
  absl::StatusOr<std::string> KeyFor(const std::remove_reference_t<Args>&... args) const {
    using Built = decltype(state_->key_builder(args...));
    if constexpr (std::is_convertible_v<Built, std::string>) {
      return std::string(state_->key_builder(args...));
    } else {
      static_assert(std::is_same_v<Built, absl::StatusOr<std::string>>,
                    "a key builder returns std::string or absl::StatusOr<std::string>");
      return state_->key_builder(args...);
    }
  }

  // Removes the stored result of a call with these arguments. kFailedPrecondition without a
  // client, the validation error for invalid options, else errors as Client::Delete.
  absl::Status Invalidate(const std::remove_reference_t<Args>&... args) const {
    if (absl::Status usable = state_->runtime.CheckUsable(); !usable.ok()) return usable;
    absl::StatusOr<std::string> key = KeyFor(args...);
    if (!key.ok()) return key.status();
    return state_->runtime.Invalidate(*key);
  }

  // A copy that encodes results with `coder` (see larder/coder.h for what a coder is).
  template <typename NewCoder>
  CachedFunction<Fn, R(Args...), NewCoder, KeyBuilder> WithCoder(NewCoder coder) const {
    static_assert(internal::IsCoderFor<NewCoder, R>::value, "not a coder for this result type");
    return {client(), options(), state_->fn, std::move(coder), state_->key_builder};
  }

  // A copy whose keys come from `key_builder(const Args&...)`, returning std::string or
  // absl::StatusOr<std::string>: the whole key inside the namespace.
  template <typename NewKeyBuilder>
  CachedFunction<Fn, R(Args...), Coder, NewKeyBuilder> WithKeyBuilder(
      NewKeyBuilder key_builder) const {
    return {client(), options(), state_->fn, state_->coder, std::move(key_builder)};
  }

  const CachedOptions& options() const { return state_->runtime.options(); }
  const std::shared_ptr<Client>& client() const { return state_->runtime.client(); }

 private:
  struct State {
    State(std::shared_ptr<Client> client, CachedOptions options, Fn fn, Coder coder,
          KeyBuilder key_builder)
        : fn(std::move(fn)),
          coder(std::move(coder)),
          key_builder(std::move(key_builder)),
          runtime(std::move(client), std::move(options)) {}

    Fn fn;
    Coder coder;
    KeyBuilder key_builder;
    internal::CacheRuntime runtime;
    internal::SingleFlightGroup<R> flights;
  };

  // Ends the leader's flight however the call ends.
  struct FinishFlight {
    internal::SingleFlightGroup<R>& group;
    const std::string& key;
    const std::shared_ptr<internal::Flight<R>>& flight;
    ~FinishFlight() { group.Finish(key, flight); }
  };

  const ResolvedCoder& coder() const {
    static_assert(internal::IsCoderFor<ResolvedCoder, R>::value,
                  "no coder for this result type: include larder/coders/json.h or "
                  "larder/coders/protobuf.h, specialise larder::CoderFor<R>, or call WithCoder");
    if constexpr (std::is_same_v<Coder, UseDefaultCoder>) {
      static const ResolvedCoder kDefault{};
      return kDefault;
    } else {
      return state_->coder;
    }
  }

  // The leader's path: look up (or lease), serve or compute, store, publish. Waiters get a
  // stale value at once, and otherwise the result once it is stored, so they count what the
  // leader counts (a refused store is an `error`, never a miss).
  R Lead(const std::string& key, internal::Flight<R>& flight, Args&&... args) const {
    const internal::CacheRuntime& runtime = state_->runtime;
    internal::Found found = runtime.Lookup(key);
    if (found.wait) {
      if (std::optional<R> stale = AwaitLease(key, found)) {
        flight.Publish(*stale, LookupResult::kStale);
        runtime.RecordLookup(LookupResult::kStale);
        return *std::move(stale);
      }
    }
    if (found.result == LookupResult::kHit || found.result == LookupResult::kStale) {
      absl::StatusOr<R> stored = coder().Decode(found.payload);
      if (!stored.ok()) {
        runtime.RecordCoderError(internal::CacheRuntime::CoderStep::kDecode, stored.status());
        found.result = LookupResult::kMiss;
      } else {
        flight.Publish(*stored, found.result);
        if (found.result == LookupResult::kHit) {
          runtime.RecordLookup(found.result);
          return *std::move(stored);
        }
      }
    }
    R value = std::invoke(state_->fn, std::forward<Args>(args)...);
    if (found.result != LookupResult::kError) {
      absl::Status stored = Store(key, value, found.lease_token);
      if (!stored.ok()) {
        found.result = LookupResult::kError;
        found.error = std::move(stored);
      }
    }
    flight.Publish(value, found.result, found.error);
    runtime.RecordOutcome(found.result, found.error);
    return value;
  }

  // While another caller (any process) holds the key's lease: the stale value larderd kept,
  // when one decodes; else nullopt, with `found` the final answer of the polls (a hit, a lease
  // of this caller's own, an error, or a miss to compute without a lease).
  std::optional<R> AwaitLease(const std::string& key, internal::Found& found) const {
    std::optional<R> stale;
    found = state_->runtime.AwaitLease(key, std::move(found), [&](absl::string_view payload) {
      absl::StatusOr<R> decoded = coder().Decode(payload);
      if (!decoded.ok()) {
        state_->runtime.RecordCoderError(internal::CacheRuntime::CoderStep::kDecode,
                                         decoded.status());
        return false;
      }
      stale.emplace(*std::move(decoded));
      return true;
    });
    return stale;
  }

  // The Set's status; a value the coder cannot encode is counted as a coder error and is OK.
  absl::Status Store(const std::string& key, const R& value, absl::string_view lease_token) const {
    absl::StatusOr<std::string> encoded = coder().Encode(value);
    if (!encoded.ok()) {
      state_->runtime.RecordCoderError(internal::CacheRuntime::CoderStep::kEncode,
                                       encoded.status());
      return absl::OkStatus();
    }
    return state_->runtime.Store(key, *encoded, lease_token);
  }

  std::shared_ptr<State> state_;
};

// Wraps `fn` (a function, function pointer, lambda or functor with one call operator; for
// generic lambdas give the signature: Cached<User(int64_t)>(…)). Results use CoderFor<R>
// unless WithCoder is called, and keys DefaultKeyBuilder(options.function_name) unless
// WithKeyBuilder is. A null client makes every call go straight to fn. Options are validated
// here (ValidateCachedOptions): Cached keeps its plain return type so wrapping a function never
// needs error handling at the call site, and invalid options fail open — calls go straight to
// fn, each counted as `error` (INVALID_ARGUMENT) and logged — with status() telling why.
template <typename Signature = void, typename Fn>
auto Cached(std::shared_ptr<Client> client, CachedOptions options, Fn fn) {
  using Resolved = typename internal::ResolveSignature<Signature, Fn>::type;
  DefaultKeyBuilder key_builder(options.function_name);
  return CachedFunction<Fn, Resolved, UseDefaultCoder, DefaultKeyBuilder>(
      std::move(client), std::move(options), std::move(fn), UseDefaultCoder{},
      std::move(key_builder));
}

}  // namespace larder

#include "larder/internal/cache_runtime.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/src/envelope.h"
#include "client/src/key_waiters.h"
#include "client/src/rate_limited_log.h"
#include "larder/common/limits.h"

namespace larder {
namespace {

// google.protobuf.Duration's largest value (10,000 years), what a Set's ttl can carry.
constexpr absl::Duration kMaxStoredTtl = absl::Seconds(int64_t{315576000000});
// ":v2:" and 32 hex digits follow the function name in a default key.
constexpr size_t kMaxFunctionNameBytes = limits::kMaxKeyBytes - 36;
// How often one cause of failure of one cached function may be logged.
constexpr absl::Duration kLogInterval = absl::Minutes(1);
// The metric label of a namespace that is not one (it may hold any bytes).
constexpr absl::string_view kInvalidNamespaceLabel = "_invalid";
// Server messages are logged up to this length, printable ASCII only.
// The longest lease a cached function may ask for (larderd's bound).
constexpr absl::Duration kMaxLeaseTtl = absl::Milliseconds(limits::kMaxLeaseTtlMillis);

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("CachedOptions.", field, ": ", what));
}

absl::Status ValidateNamespace(absl::string_view ns) {
  const auto bad_char = std::find_if(ns.begin(), ns.end(), [](char c) {
    return !absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-';
  });
  if (ns.empty() || ns.size() > limits::kMaxNamespaceBytes || bad_char != ns.end()) {
    return Invalid("namespace_name", absl::StrCat("must be 1-", limits::kMaxNamespaceBytes,
                                                  " characters of [A-Za-z0-9_.-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTtl(const CachedOptions& options) {
  if (options.stale_while_revalidate < absl::ZeroDuration()) {
    return Invalid("stale_while_revalidate", "must not be negative");
  }
  if (!options.ttl.has_value()) {
    if (options.stale_while_revalidate > absl::ZeroDuration()) {
      return Invalid("stale_while_revalidate", "needs ttl");
    }
    return absl::OkStatus();
  }
  if (*options.ttl <= absl::ZeroDuration()) return Invalid("ttl", "must be positive");
  if (*options.ttl + options.stale_while_revalidate > kMaxStoredTtl) {
    return Invalid("ttl", "ttl + stale_while_revalidate must be at most 315576000000s");
  }
  return absl::OkStatus();
}

absl::Status ValidateLease(const CachedOptions& options) {
  if (options.lease_ttl <= absl::ZeroDuration() || options.lease_ttl > kMaxLeaseTtl) {
    return Invalid("lease_ttl", absl::StrCat("must be positive and at most ",
                                             absl::FormatDuration(kMaxLeaseTtl)));
  }
  if (options.lease_wait < absl::ZeroDuration()) {
    return Invalid("lease_wait", "must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ValidateTags(const std::vector<std::string>& tags) {
  if (tags.size() > static_cast<size_t>(limits::kMaxTagsPerEntry)) {
    return Invalid("tags",
                   absl::StrCat("at most ", limits::kMaxTagsPerEntry, " tags, got ", tags.size()));
  }
  for (const std::string& tag : tags) {
    if (tag.empty() || tag.size() > limits::kMaxTagBytes) {
      return Invalid("tags", absl::StrCat("each must be 1-", limits::kMaxTagBytes, " bytes, got ",
                                          tag.size()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCachedOptions(const CachedOptions& options) {
  if (absl::Status s = ValidateNamespace(options.namespace_name); !s.ok()) return s;
  if (options.function_name.empty() || options.function_name.size() > kMaxFunctionNameBytes) {
    return Invalid("function_name", absl::StrCat("must be 1-", kMaxFunctionNameBytes,
                                                 " bytes (functions sharing a namespace would "
                                                 "share keys), got ",
                                                 options.function_name.size()));
  }
  if (absl::Status s = ValidateTtl(options); !s.ok()) return s;
  if (absl::Status s = ValidateTags(options.tags); !s.ok()) return s;
  return ValidateLease(options);
}

namespace internal {

using client::internal::LoggableText;
using client::internal::RateLimitedLog;
using client::internal::UnwrapEnvelope;
using client::internal::WrapEnvelope;

CacheRuntime::CacheRuntime(std::shared_ptr<Client> client, CachedOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      validation_(ValidateCachedOptions(options_)),
      metric_namespace_(ValidateNamespace(options_.namespace_name).ok() ? options_.namespace_name
                                                                        : kInvalidNamespaceLabel),
      log_(std::make_unique<RateLimitedLog>(client_ ? client_->clock() : Clock::Real(),
                                            kLogInterval)) {}

CacheRuntime::~CacheRuntime() = default;

Found CacheRuntime::Lookup(absl::string_view key) const {
  if (options_.fleet_single_flight) {
    absl::StatusOr<LeaseResult> leased =
        client_->Lease(options_.namespace_name, key, options_.lease_ttl);
    // UNIMPLEMENTED: larderd has no leases; the client remembers it, so later Leases answer it
    // without an RPC and every call takes the Get path below.
    if (leased.status().code() != absl::StatusCode::kUnimplemented) {
      return FromLease(std::move(leased));
    }
  }
  GetOptions get_options;
  get_options.record_lookup = false;  // The cached function records how the lookup ended.
  absl::StatusOr<GetResult> got = client_->Get(options_.namespace_name, key, get_options);
  if (!got.ok()) {
    Found found;
    found.result = LookupResult::kError;
    found.error = got.status();
    return found;
  }
  return FromEntry(*got);
}

Found CacheRuntime::FromEntry(const GetResult& entry) const {
  Found found;
  if (!entry.found) return found;
  absl::StatusOr<client::internal::Envelope> envelope = UnwrapEnvelope(entry.value);
  if (!envelope.ok()) {
    RecordCoderError(CoderStep::kDecode, envelope.status());
    return found;
  }
  const absl::Time now = client_->clock().Now();
  if (!envelope->fresh_until.has_value() || now < *envelope->fresh_until) {
    found.result = LookupResult::kHit;
  } else if (now < *envelope->fresh_until + options_.stale_while_revalidate) {
    found.result = LookupResult::kStale;
  } else {
    return found;  // Expired on this clock though the server still kept it.
  }
  found.payload = std::string(envelope->payload);
  return found;
}

Found CacheRuntime::FromLease(absl::StatusOr<LeaseResult> leased) const {
  Found found;
  if (!leased.ok()) {
    found.result = LookupResult::kError;
    found.error = leased.status();
    return found;
  }
  if (leased->entry.found) return FromEntry(leased->entry);
  if (!leased->token.empty()) {
    RecordLease(LeaseEvent::kGranted);
    found.lease_token = std::move(leased->token);
    return found;
  }
  found.wait = leased->wait;  // Neither token nor wait: larderd holds too many leases.
  if (!found.wait || !leased->stale.found) return found;
  absl::StatusOr<client::internal::Envelope> envelope = UnwrapEnvelope(leased->stale.value);
  if (!envelope.ok()) {
    RecordCoderError(CoderStep::kDecode, envelope.status());
    return found;
  }
  found.has_stale = true;
  found.payload = std::string(envelope->payload);
  return found;
}

Found CacheRuntime::AwaitLease(absl::string_view key, Found found,
                               absl::FunctionRef<bool(absl::string_view)> serve_stale) const {
  RecordLease(LeaseEvent::kWaited);
  const WaitClock& clock = wait_clock();
  const absl::Time give_up = clock.Now() + options_.lease_wait;
  client::internal::LeaseWait wait(client::internal::KeyWaiters::Process(), options_.namespace_name,
                                   key, NearCached(), clock);
  bool woken = false;
  for (int poll = 1; found.wait; ++poll) {
    if (found.has_stale && serve_stale(found.payload)) {
      RecordLease(LeaseEvent::kServedStale);
      Found stale;
      stale.result = LookupResult::kStale;
      return stale;
    }
    const absl::Duration left = give_up - clock.Now();
    if (left <= absl::ZeroDuration()) {
      RecordLease(LeaseEvent::kWaitTimedOut);
      return Found();  // A miss without a lease: compute and store without a token.
    }
    if (wait.Pause(poll, left) && !woken) {
      woken = true;
      RecordLease(LeaseEvent::kWokenByWatch);
    }
    found = Lookup(key);
  }
  return found;
}

bool CacheRuntime::NearCached() const {
  const std::vector<std::string>& near = client_->options().near_cache.namespaces;
  return std::find(near.begin(), near.end(), options_.namespace_name) != near.end();
}

absl::Status CacheRuntime::Store(absl::string_view key, absl::string_view payload,
                                 absl::string_view lease_token) const {
  SetOptions set_options;
  set_options.tags = options_.tags;
  set_options.lease_token = std::string(lease_token);
  std::optional<absl::Time> fresh_until;
  if (options_.ttl.has_value()) {
    fresh_until = client_->clock().Now() + *options_.ttl;
    set_options.ttl =
        *options_.ttl + std::max(absl::ZeroDuration(), options_.stale_while_revalidate);
  }
  absl::StatusOr<SetResult> set =
      client_->Set(options_.namespace_name, key, WrapEnvelope(fresh_until, payload), set_options);
  if (!set.ok()) return set.status();
  if (!set->stored && !lease_token.empty()) RecordLease(LeaseEvent::kStaleSetPrevented);
  return absl::OkStatus();
}

absl::Status CacheRuntime::CheckUsable() const {
  if (client_ == nullptr) return absl::FailedPreconditionError("no larder client");
  return validation_;
}

absl::Status CacheRuntime::Invalidate(absl::string_view key) const {
  if (absl::Status usable = CheckUsable(); !usable.ok()) return usable;
  return client_->Delete(options_.namespace_name, key).status();
}

void CacheRuntime::RecordLookup(LookupResult result) const {
  if (result == LookupResult::kError) return RecordError(absl::UnknownError("unknown failure"));
  client_->metrics().RecordLookup(metric_namespace_, result);
}

void CacheRuntime::RecordError(const absl::Status& why) const {
  const absl::StatusCode code = why.ok() ? absl::StatusCode::kUnknown : why.code();
  client_->metrics().RecordLookupError(metric_namespace_, code);
  log_->Log(absl::StatusCodeToString(code),
            absl::StrCat("cached function ", LoggableText(options_.function_name), " in namespace ",
                         LoggableText(options_.namespace_name),
                         " is not caching: ", LoggableText(why.ToString())));
}

void CacheRuntime::RecordOutcome(LookupResult result, const absl::Status& error) const {
  if (result == LookupResult::kError) return RecordError(error);
  RecordLookup(result);
}

void CacheRuntime::RecordSingleFlightWait() const { client_->metrics().RecordSingleFlightWait(); }

void CacheRuntime::RecordCoderError(CoderStep step, const absl::Status& why) const {
  client_->metrics().RecordCoderError();
  const bool decoding = step == CoderStep::kDecode;
  log_->Log(decoding ? "decode" : "encode",
            absl::StrCat("cached function ", LoggableText(options_.function_name), " in namespace ",
                         LoggableText(options_.namespace_name),
                         decoding ? ": a stored value could not be decoded ("
                                  : ": a result could not be encoded (",
                         LoggableText(why.ToString()),
                         decoding ? "); computing it instead" : "); returned, not stored"));
}

void CacheRuntime::RecordLease(LeaseEvent event) const {
  client_->metrics().RecordLease(metric_namespace_, event);
}

const WaitClock& CacheRuntime::wait_clock() const {
  return options_.wait_clock != nullptr ? *options_.wait_clock : WaitClock::Real();
}

}  // namespace internal
}  // namespace larder

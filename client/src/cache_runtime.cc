#include "larder/internal/cache_runtime.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/src/envelope.h"
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
constexpr size_t kMaxLoggedMessageBytes = 300;

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

// `message` cut to kMaxLoggedMessageBytes with bytes outside printable ASCII as '?'.
std::string Loggable(absl::string_view message) {
  std::string out(message.substr(0, kMaxLoggedMessageBytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
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
  return ValidateTags(options.tags);
}

namespace internal {

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
  GetOptions get_options;
  get_options.record_lookup = false;  // The cached function records how the lookup ended.
  absl::StatusOr<GetResult> got = client_->Get(options_.namespace_name, key, get_options);
  Found found;
  if (!got.ok()) {
    found.result = LookupResult::kError;
    found.error = got.status();
    return found;
  }
  if (!got->found) return found;
  absl::StatusOr<client::internal::Envelope> envelope = UnwrapEnvelope(got->value);
  if (!envelope.ok()) {
    RecordCoderError();
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

absl::Status CacheRuntime::Store(absl::string_view key, absl::string_view payload) const {
  SetOptions set_options;
  set_options.tags = options_.tags;
  std::optional<absl::Time> fresh_until;
  if (options_.ttl.has_value()) {
    fresh_until = client_->clock().Now() + *options_.ttl;
    set_options.ttl =
        *options_.ttl + std::max(absl::ZeroDuration(), options_.stale_while_revalidate);
  }
  return client_->Set(options_.namespace_name, key, WrapEnvelope(fresh_until, payload), set_options)
      .status();
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
            absl::StrCat("cached function ", Loggable(options_.function_name), " in namespace ",
                         Loggable(options_.namespace_name),
                         " is not caching: ", Loggable(why.ToString())));
}

void CacheRuntime::RecordOutcome(LookupResult result, const absl::Status& error) const {
  if (result == LookupResult::kError) return RecordError(error);
  RecordLookup(result);
}

void CacheRuntime::RecordSingleFlightWait() const { client_->metrics().RecordSingleFlightWait(); }

void CacheRuntime::RecordCoderError() const { client_->metrics().RecordCoderError(); }

}  // namespace internal
}  // namespace larder

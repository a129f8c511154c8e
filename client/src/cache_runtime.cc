#include "larder/internal/cache_runtime.h"

#include <algorithm>
#include <utility>

#include "client/src/envelope.h"

namespace larder::internal {

using client::internal::UnwrapEnvelope;
using client::internal::WrapEnvelope;

CacheRuntime::CacheRuntime(std::shared_ptr<Client> client, CachedOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

Found CacheRuntime::Lookup(absl::string_view key) const {
  GetOptions get_options;
  get_options.record_lookup = false;  // The cached function records how the lookup ended.
  absl::StatusOr<GetResult> got = client_->Get(options_.namespace_name, key, get_options);
  Found found;
  if (!got.ok()) {
    found.result = LookupResult::kError;
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

void CacheRuntime::Store(absl::string_view key, absl::string_view payload) const {
  SetOptions set_options;
  set_options.tags = options_.tags;
  std::optional<absl::Time> fresh_until;
  if (options_.ttl.has_value()) {
    fresh_until = client_->clock().Now() + *options_.ttl;
    set_options.ttl =
        *options_.ttl + std::max(absl::ZeroDuration(), options_.stale_while_revalidate);
  }
  // The outcome is in larder_client_rpcs_total; the caller has its value either way.
  client_->Set(options_.namespace_name, key, WrapEnvelope(fresh_until, payload), set_options)
      .status()
      .IgnoreError();
}

absl::Status CacheRuntime::Invalidate(absl::string_view key) const {
  if (client_ == nullptr) return absl::FailedPreconditionError("no larder client");
  return client_->Delete(options_.namespace_name, key).status();
}

void CacheRuntime::RecordLookup(LookupResult result) const {
  client_->metrics().RecordLookup(options_.namespace_name, result);
}

void CacheRuntime::RecordSingleFlightWait() const { client_->metrics().RecordSingleFlightWait(); }

void CacheRuntime::RecordCoderError() const { client_->metrics().RecordCoderError(); }

}  // namespace larder::internal

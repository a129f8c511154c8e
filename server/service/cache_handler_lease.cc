// CacheHandler's Lease call and the lease_token of Set (see cache_handler.h).
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "server/log/log.h"
#include "server/service/cache_handler.h"
#include "server/service/validation.h"

namespace larder::server {
namespace {

// The lease's length: lease_ttl when given (positive, a valid Duration, at most
// limits::kMaxLeaseTtlMillis), else limits::kDefaultLeaseTtlMillis.
absl::StatusOr<absl::Duration> LeaseTtlOf(const v1::LeaseRequest& request) {
  const absl::Duration max = absl::Milliseconds(limits::kMaxLeaseTtlMillis);
  LARDER_ASSIGN_OR_RETURN(absl::Duration ttl,
                          EffectiveTtl(request.has_lease_ttl() ? &request.lease_ttl() : nullptr,
                                       absl::Milliseconds(limits::kDefaultLeaseTtlMillis),
                                       absl::ZeroDuration(), "lease_ttl"));
  if (ttl > max) {
    return absl::InvalidArgumentError(absl::StrCat("lease_ttl: must be at most ",
                                                   absl::FormatDuration(max), ", got ",
                                                   absl::FormatDuration(ttl)));
  }
  return ttl;
}

}  // namespace

absl::Status CacheHandler::ValidateLeaseToken(const v1::SetRequest& request,
                                              absl::string_view field_prefix) {
  const std::string& token = request.lease_token();
  if (token.empty()) return absl::OkStatus();
  const std::string field = absl::StrCat(field_prefix, "lease_token");
  if (!field_prefix.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": accepted by Set only, not MultiSet"));
  }
  if (token.size() > limits::kMaxLeaseTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be at most ", limits::kMaxLeaseTokenBytes, " bytes, got ", token.size()));
  }
  if (request.if_absent() || !request.if_match().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot be combined with if_match or if_absent"));
  }
  return absl::OkStatus();
}

void CacheHandler::CountLeaseSet(const v1::SetRequest& request, bool stored) {
  if (request.lease_token().empty()) return;
  (stored ? lease_counters_.filled : lease_counters_.refused)
      .fetch_add(1, std::memory_order_relaxed);
}

void CacheHandler::EndLeaseOfRefusedSet(const v1::SetRequest& request) {
  const std::string& token = request.lease_token();
  if (token.empty() || token.size() > limits::kMaxLeaseTokenBytes ||
      !ValidateKey(request.key(), "key").ok()) {
    return;
  }
  absl::StatusOr<bool> ended = engine_.EndLease(request.namespace_(), request.key(), token);
  if (ended.ok()) {
    if (*ended) lease_counters_.ended.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  lease_counters_.end_failed.fetch_add(1, std::memory_order_relaxed);
  // The lease still ends when it expires. The token is a secret: never logged.
  if (std::optional<int64_t> suppressed = end_lease_log_limiter_.Allow("end_lease")) {
    Log(Severity::kWarning, "lease_not_ended",
        {{"namespace", request.namespace_()},
         {"error", ended.status()},
         {"suppressed", *suppressed}});
  }
}

absl::Status CacheHandler::Lease(const v1::LeaseRequest& request, v1::LeaseResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), "key"));
  LARDER_ASSIGN_OR_RETURN(absl::Duration lease_ttl, LeaseTtlOf(request));
  LARDER_ASSIGN_OR_RETURN(storage::LeaseResult lease,
                          engine_.Lease(request.namespace_(), request.key(), lease_ttl));
  const absl::Time now = clock_.Now();
  namespace_stats_.RecordLookup(request.namespace_(), lease.entry.has_value());
  if (lease.entry.has_value()) {
    FillGetResponse(std::move(lease.entry), "", now, *response.mutable_entry());
  } else if (!lease.token.empty()) {
    lease_counters_.granted.fetch_add(1, std::memory_order_relaxed);
    response.set_lease_token(std::move(lease.token));
  } else if (lease.wait) {
    lease_counters_.waited.fetch_add(1, std::memory_order_relaxed);
    response.set_wait(true);
    if (lease.stale.has_value()) {
      lease_counters_.stale.fetch_add(1, std::memory_order_relaxed);
      FillGetResponse(std::move(lease.stale), "", now, *response.mutable_stale());
    }
  } else {
    lease_counters_.table_full.fetch_add(1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

}  // namespace larder::server

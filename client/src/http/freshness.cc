#include "client/src/http/freshness.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "larder/http/conditional.h"

namespace larder::http::internal {
namespace {

constexpr int64_t kMaxDeltaSeconds = int64_t{1} << 31;

bool IsHeuristicallyCacheable(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

absl::Time DateOf(const Response& response, absl::Time response_time) {
  std::optional<std::string> date = response.headers.Get("Date");
  std::optional<absl::Time> parsed;
  if (date.has_value()) parsed = ParseHttpDate(*date);
  return parsed.value_or(response_time);
}

bool HasValidator(const Response& response) {
  return response.headers.Has("ETag") || response.headers.Has("Last-Modified");
}

Decision Miss(Decision decision, const Request& request) {
  decision.action = Action::kMiss;
  decision.store = request.method == "GET";
  decision.forward = Forward::kStale;
  decision.coalesce = true;
  decision.stale_if_error = false;
  decision.detail.clear();
  return decision;
}

}  // namespace

std::optional<absl::Duration> StatedLifetime(const ResponseCacheControl& cc,
                                             const Response& response, absl::Time response_time) {
  if (cc.s_maxage.has_value()) return *cc.s_maxage;
  if (cc.max_age.has_value()) return *cc.max_age;
  std::optional<std::string> expires = response.headers.Get("Expires");
  if (!expires.has_value()) return std::nullopt;
  std::optional<absl::Time> when = ParseHttpDate(*expires);
  if (!when.has_value()) return absl::ZeroDuration();
  return std::max(*when - DateOf(response, response_time), absl::ZeroDuration());
}

bool MayAssignLifetime(const ResponseCacheControl& cc, int status) {
  return IsHeuristicallyCacheable(status) || cc.is_public;
}

std::optional<absl::Duration> HeuristicLifetime(const ResponseCacheControl& cc,
                                                const Response& response,
                                                absl::Time response_time) {
  std::optional<std::string> header = response.headers.Get("Last-Modified");
  if (!MayAssignLifetime(cc, response.status) || !header.has_value()) return std::nullopt;
  std::optional<absl::Time> last_modified = ParseHttpDate(*header);
  if (!last_modified.has_value()) return std::nullopt;
  return std::max((DateOf(response, response_time) - *last_modified) / 10, absl::ZeroDuration());
}

absl::Duration CorrectedInitialAge(const Response& response, absl::Time request_time,
                                   absl::Time response_time) {
  int64_t age_seconds = 0;
  std::optional<std::string> age = response.headers.Get("Age");
  if (age.has_value() && !absl::SimpleAtoi(absl::StripAsciiWhitespace(*age), &age_seconds)) {
    age_seconds = 0;
  }
  age_seconds = std::clamp<int64_t>(age_seconds, 0, kMaxDeltaSeconds);
  const absl::Duration apparent =
      std::max(response_time - DateOf(response, response_time), absl::ZeroDuration());
  const absl::Duration delay = std::max(response_time - request_time, absl::ZeroDuration());
  return std::max(apparent, absl::Seconds(age_seconds) + delay);
}

// kResponse: the lifetime the response states, else its heuristic one, else the route's
// response_default_ttl where a lifetime may be assigned; nullopt when none applies.
std::optional<absl::Duration> ResponseLifetime(const ResponseCacheControl& cc,
                                               const Response& response, const RoutePolicy& policy,
                                               absl::Time response_time) {
  if (std::optional<absl::Duration> stated = StatedLifetime(cc, response, response_time)) {
    return stated;
  }
  if (std::optional<absl::Duration> heuristic = HeuristicLifetime(cc, response, response_time)) {
    return heuristic;
  }
  if (policy.response_default_ttl.has_value() && MayAssignLifetime(cc, response.status)) {
    return *policy.response_default_ttl;
  }
  return std::nullopt;
}

// The lifetime the route gives `response`: under kPolicy the ttl, or the response's own when
// shorter; under kResponse ResponseLifetime; capped by the ttl; nullopt when it has none.
std::optional<absl::Duration> RouteLifetime(const ResponseCacheControl& cc,
                                            const Response& response, const RoutePolicy& policy,
                                            absl::Time response_time) {
  std::optional<absl::Duration> lifetime =
      policy.freshness == FreshnessSource::kResponse
          ? ResponseLifetime(cc, response, policy, response_time)
          : StatedLifetime(cc, response, response_time).value_or(policy.ttl);
  // A no-cache response is revalidated on every use, so it needs no lifetime of its own to be
  // stored when it may be stored without one (RFC 9111 section 3).
  if (!lifetime.has_value() && cc.no_cache && MayAssignLifetime(cc, response.status)) {
    lifetime = absl::ZeroDuration();
  }
  if (!lifetime.has_value()) return std::nullopt;
  return std::min(*lifetime, policy.ttl);
}

Freshness ComputeFreshness(const Response& response, const RoutePolicy& policy,
                           absl::Time request_time, absl::Time response_time) {
  const ResponseCacheControl cc =
      ParseResponseCacheControl(response.headers.GetJoined("Cache-Control"));
  Freshness freshness;
  if (cc.no_cache && !HasValidator(response)) {
    freshness.reason = "no-cache";
    return freshness;
  }
  std::optional<absl::Duration> lifetime = RouteLifetime(cc, response, policy, response_time);
  if (!lifetime.has_value()) {
    freshness.reason = "no-freshness";
    return freshness;
  }
  freshness.lifetime = *lifetime;
  freshness.corrected_initial_age = CorrectedInitialAge(response, request_time, response_time);
  // A no-cache response is never served without revalidation: being stale changes nothing.
  if (freshness.lifetime <= freshness.corrected_initial_age && !cc.no_cache) {
    freshness.reason = "stale-on-arrival";
    return freshness;
  }
  freshness.storable = true;
  return freshness;
}

absl::Duration MaxResponseStaleWindow(const RoutePolicy& policy) {
  return std::max({kMaxResponseStaleWindow, policy.stale_while_revalidate, policy.stale_if_error});
}

StaleWindows StoredStaleWindows(const RoutePolicy& policy, const ResponseCacheControl& cc) {
  if (cc.must_revalidate || cc.proxy_revalidate || cc.no_cache) return StaleWindows{};
  StaleWindows windows = RouteStaleWindows(policy);
  if (policy.freshness != FreshnessSource::kResponse) return windows;
  const absl::Duration cap = MaxResponseStaleWindow(policy);
  if (cc.stale_while_revalidate.has_value()) {
    windows.while_revalidate = std::min(*cc.stale_while_revalidate, cap);
  }
  if (cc.stale_if_error.has_value()) windows.if_error = std::min(*cc.stale_if_error, cap);
  return windows;
}

absl::Duration KeepFor(const StoredResponse& record, const RoutePolicy& policy, absl::Time now) {
  const ResponseCacheControl cc =
      ParseResponseCacheControl(record.response.headers.GetJoined("Cache-Control"));
  const StaleWindows windows = StoredStaleWindows(policy, cc);
  // A no-cache record, revalidated on every use, may be stored already stale: its remaining
  // lifetime then counts as zero.
  const absl::Duration remaining = std::max(record.meta.fresh_until - now, absl::ZeroDuration());
  const bool has_validator = !record.meta.etag.empty() || HasValidator(record.response);
  return remaining + std::max({windows.while_revalidate, windows.if_error,
                               has_validator ? policy.ttl : absl::ZeroDuration()});
}

Decision DecideStored(const Request& request, const RoutePolicy& policy,
                      const StoredResponse* stored, absl::Time now) {
  if (stored == nullptr) return Decide(request, policy, nullptr, now);
  const ResponseCacheControl cc =
      ParseResponseCacheControl(stored->response.headers.GetJoined("Cache-Control"));
  const Decision decision =
      Decide(request, policy, &stored->meta, StoredStaleWindows(policy, cc), now);
  return ApplyStoredDirectives(decision, request, cc);
}

Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const StoredResponse& stored) {
  return ApplyStoredDirectives(
      std::move(decision), request,
      ParseResponseCacheControl(stored.response.headers.GetJoined("Cache-Control")));
}

Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const ResponseCacheControl& cc) {
  const bool served = decision.action == Action::kServe ||
                      decision.action == Action::kNotModified || decision.action == Action::kStale;
  if (cc.no_cache) {
    if (served) return Miss(decision, request);
    decision.stale_if_error = false;
    return decision;
  }
  if (cc.must_revalidate || cc.proxy_revalidate) {
    if (decision.action == Action::kStale) return Miss(decision, request);
    decision.stale_if_error = false;
  }
  return decision;
}

}  // namespace larder::http::internal

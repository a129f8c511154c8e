#include "client/src/http/freshness.h"

#include <algorithm>
#include <cstdint>

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

std::optional<absl::Duration> HeuristicLifetime(const Response& response,
                                                absl::Time response_time) {
  std::optional<std::string> header = response.headers.Get("Last-Modified");
  if (!IsHeuristicallyCacheable(response.status) || !header.has_value()) return std::nullopt;
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

// The lifetime the route gives `response`: the response's own (or, in kResponse mode, the
// heuristic one), capped by the ttl; nullopt when it has none.
std::optional<absl::Duration> RouteLifetime(const ResponseCacheControl& cc,
                                            const Response& response, const RoutePolicy& policy,
                                            absl::Time response_time) {
  std::optional<absl::Duration> lifetime = StatedLifetime(cc, response, response_time);
  if (policy.freshness == FreshnessSource::kResponse && !lifetime.has_value()) {
    lifetime = HeuristicLifetime(response, response_time);
  }
  if (policy.freshness == FreshnessSource::kPolicy) {
    lifetime = std::min(lifetime.value_or(policy.ttl), policy.ttl);
  }
  // A no-cache response is revalidated on every use, so it needs no lifetime of its own to be
  // stored when its status may be stored without one (RFC 9111 section 3).
  if (!lifetime.has_value() && cc.no_cache && IsHeuristicallyCacheable(response.status)) {
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

Decision ApplyStoredDirectives(Decision decision, const Request& request,
                               const StoredResponse& stored) {
  const ResponseCacheControl cc =
      ParseResponseCacheControl(stored.response.headers.GetJoined("Cache-Control"));
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

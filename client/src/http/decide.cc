#include "larder/http/decide.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "larder/common/etag.h"
#include "larder/http/cache_control.h"

namespace larder::http {
namespace {

RequestCacheControl ParsedDirectives(const Request& request) {
  if (request.headers.Has("Cache-Control")) {
    return ParseRequestCacheControl(request.headers.GetJoined("Cache-Control"));
  }
  RequestCacheControl cc;
  for (const CacheDirective& d : ParseDirectiveList(request.headers.GetJoined("Pragma"))) {
    if (d.name == "no-cache") cc.no_cache = true;
  }
  return cc;
}

// The request's directives as the route honours them: without honor_client_refresh, those that
// would force a render of a stored response (no-cache, max-age, min-fresh, Pragma) are dropped.
RequestCacheControl RequestDirectives(const Request& request, const RoutePolicy& policy) {
  RequestCacheControl cc = ParsedDirectives(request);
  if (!policy.honor_client_refresh) {
    cc.no_cache = false;
    cc.max_age.reset();
    cc.min_fresh.reset();
  }
  return cc;
}

Decision Make(Action action, Forward forward, std::string detail = "") {
  Decision decision;
  decision.action = action;
  decision.forward = forward;
  decision.detail = std::move(detail);
  return decision;
}

Decision Miss(const Request& request, Forward forward, bool coalesce) {
  Decision decision = Make(Action::kMiss, forward);
  decision.store = request.method == "GET";
  decision.coalesce = coalesce;
  return decision;
}

// Rules 1-4: the decisions that need no stored response. nullopt when a lookup decides.
std::optional<Decision> DecideBeforeLookup(const Request& request, const RoutePolicy& policy) {
  if (!IsCacheableMethod(request)) return Make(Action::kBypass, Forward::kMethod, "method");
  if (request.headers.Has("Authorization") && !policy.shared) {
    return Make(Action::kBypass, Forward::kBypass, "authorization");
  }
  if (absl::string_view cookie = CookieBypass(request, policy); !cookie.empty()) {
    return Make(Action::kBypass, Forward::kBypass, std::string(cookie));
  }
  const RequestCacheControl cc = RequestDirectives(request, policy);
  if (cc.no_store) return Make(Action::kBypass, Forward::kRequest, "no-store");
  if (cc.no_cache || cc.max_age == absl::ZeroDuration()) {
    return Miss(request, Forward::kRequest, /*coalesce=*/true);
  }
  return std::nullopt;
}

bool AcceptableToRequest(const RequestCacheControl& cc, const StoredMeta& stored, absl::Time now) {
  const absl::Duration age = now - stored.stored_at;
  if (cc.max_age.has_value() && age > *cc.max_age) return false;
  if (cc.min_fresh.has_value() && stored.fresh_until - now < *cc.min_fresh) return false;
  return true;
}

}  // namespace

StaleWindows RouteStaleWindows(const RoutePolicy& policy) {
  return StaleWindows{policy.stale_while_revalidate, policy.stale_if_error};
}

bool NeedsLookup(const Request& request, const RoutePolicy& policy) {
  return !DecideBeforeLookup(request, policy).has_value();
}

Decision Decide(const Request& request, const RoutePolicy& policy, const StoredMeta* stored,
                absl::Time now) {
  return Decide(request, policy, stored, RouteStaleWindows(policy), now);
}

Decision Decide(const Request& request, const RoutePolicy& policy, const StoredMeta* stored,
                const StaleWindows& windows, absl::Time now) {
  if (std::optional<Decision> early = DecideBeforeLookup(request, policy)) return *early;
  if (stored == nullptr) return Miss(request, Forward::kUriMiss, /*coalesce=*/true);
  if (now < stored->fresh_until) {
    if (!AcceptableToRequest(RequestDirectives(request, policy), *stored, now)) {
      return Miss(request, Forward::kRequest, /*coalesce=*/true);
    }
    const std::string if_none_match = request.headers.GetJoined("If-None-Match");
    if (request.headers.Has("If-None-Match") && IfNoneMatchMatches(if_none_match, stored->etag)) {
      return Make(Action::kNotModified, Forward::kNone);
    }
    return Make(Action::kServe, Forward::kNone);
  }
  const absl::Duration staleness = now - stored->fresh_until;
  const std::optional<absl::Duration> max_stale = RequestDirectives(request, policy).max_stale;
  if (windows.while_revalidate > absl::ZeroDuration() && staleness <= windows.while_revalidate &&
      (!max_stale.has_value() || staleness <= *max_stale)) {
    return Make(Action::kStale, Forward::kNone, "stale-while-revalidate");
  }
  if (max_stale.has_value() && staleness <= *max_stale) {
    return Make(Action::kStale, Forward::kNone, "max-stale");
  }
  Decision miss = Miss(request, Forward::kStale, /*coalesce=*/true);
  miss.stale_if_error = windows.if_error > absl::ZeroDuration() && staleness <= windows.if_error;
  return miss;
}

bool OnlyIfCached(const Request& request) { return ParsedDirectives(request).only_if_cached; }

absl::string_view ActionLabel(Action action) {
  switch (action) {
    case Action::kServe:
      return "hit";
    case Action::kNotModified:
      return "not_modified";
    case Action::kStale:
      return "stale";
    case Action::kMiss:
      return "miss";
    case Action::kBypass:
      return "bypass";
  }
  return "miss";
}

}  // namespace larder::http

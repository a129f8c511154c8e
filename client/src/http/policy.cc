#include "larder/http/policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/src/http/cache_key.h"
#include "client/src/http/record_validation.h"

namespace larder::http {
namespace {

bool IsNamespaceChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

}  // namespace

absl::Status ValidateRouteTags(const std::vector<std::string>& tags) {
  if (tags.size() > static_cast<size_t>(kMaxRouteTags)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tags: at most ", kMaxRouteTags, " per route (with the path tag, ",
                     limits::kMaxTagsPerEntry, " per entry), got ", tags.size()));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].empty() || tags[i].size() > limits::kMaxTagBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tags[", i, "]: must be 1-", limits::kMaxTagBytes, " bytes, got ", tags[i].size()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const RoutePolicy& policy) {
  const std::string& ns = policy.cache_namespace;
  if (ns.empty() || ns.size() > limits::kMaxNamespaceBytes ||
      !std::all_of(ns.begin(), ns.end(), IsNamespaceChar)) {
    return absl::InvalidArgumentError(absl::StrCat("cache_namespace must be 1-",
                                                   limits::kMaxNamespaceBytes,
                                                   " of [A-Za-z0-9_.-], got \"", ns, "\""));
  }
  if (policy.ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ttl must be positive");
  }
  if (policy.response_default_ttl.has_value() &&
      *policy.response_default_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("response_default_ttl must be positive when set");
  }
  if (policy.stale_while_revalidate < absl::ZeroDuration() ||
      policy.stale_if_error < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stale windows must not be negative");
  }
  if (policy.lease_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease_wait must not be negative");
  }
  if (absl::Status tags = ValidateRouteTags(policy.tags); !tags.ok()) return tags;
  if (!policy.response_tags_header.empty() && !IsToken(policy.response_tags_header)) {
    return absl::InvalidArgumentError(
        absl::StrCat("response_tags_header must be a header name (an RFC 9110 token), got \"",
                     policy.response_tags_header, "\""));
  }
  if (policy.cached_statuses.empty()) {
    return absl::InvalidArgumentError("cached_statuses must not be empty");
  }
  return absl::OkStatus();
}

bool CookiesInKey() { return internal::kKeyCarriesCookies; }

absl::string_view CookieBypass(const Request& request, const RoutePolicy& policy) {
  if (policy.ignore_cookies || !request.headers.Has("Cookie")) return "";
  // A key builder of the route's own is trusted to select by the cookies it names.
  if (!policy.vary_cookies.empty() && (policy.key_builder || CookiesInKey())) return "";
  return "cookie";
}

absl::Duration StorageTtl(const RoutePolicy& policy) {
  return policy.ttl + std::max(policy.stale_while_revalidate, policy.stale_if_error);
}

ResponseCacheControl ToCacheControl(const ClientDirectives& directives) {
  ResponseCacheControl cc;
  cc.max_age = directives.max_age;
  cc.s_maxage = directives.s_maxage;
  cc.is_public = directives.is_public;
  cc.is_private = directives.is_private;
  cc.no_cache = directives.no_cache;
  cc.no_store = directives.no_store;
  cc.immutable = directives.immutable;
  cc.must_revalidate = directives.must_revalidate;
  return cc;
}

std::string ClientCacheControl(const RoutePolicy& policy) {
  std::string value = FormatCacheControl(ToCacheControl(policy.client));
  return value.empty() ? "no-cache" : value;
}

const std::string& RouteLabel(const RoutePolicy& policy) {
  return policy.route.empty() ? policy.cache_namespace : policy.route;
}

}  // namespace larder::http

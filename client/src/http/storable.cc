#include "larder/http/storable.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "larder/http/cache_control.h"
#include "larder/http/key.h"

namespace larder::http {
namespace {

bool VaryIsStar(const Headers& headers) {
  for (absl::string_view member : absl::StrSplit(headers.GetJoined("Vary"), ',')) {
    if (absl::StripAsciiWhitespace(member) == "*") return true;
  }
  return false;
}

StoreVerdict No(std::string reason) { return StoreVerdict{false, std::move(reason)}; }

bool IsDropped(absl::string_view name, const std::vector<std::string>& connection_named,
               absl::string_view cache_header) {
  static constexpr const char* kDropped[] = {
      "Connection",     "Keep-Alive", "Transfer-Encoding", "TE",         "Trailer",     "Upgrade",
      "Content-Length", "Age",        "Cache-Status",      "Set-Cookie", "Set-Cookie2",
  };
  for (const char* dropped : kDropped) {
    if (HeaderNameEquals(name, dropped)) return true;
  }
  if (absl::StartsWithIgnoreCase(name, "Proxy-") || HeaderNameEquals(name, cache_header)) {
    return true;
  }
  for (const std::string& named : connection_named) {
    if (HeaderNameEquals(name, named)) return true;
  }
  return false;
}

}  // namespace

StoreVerdict CheckStorable(const Request& request, const Response& response,
                           const RoutePolicy& policy) {
  if (request.method == "HEAD") return No("head");
  if (request.method != "GET") return No("method");
  if (request.headers.Has("Authorization") && !policy.shared) return No("authorization");
  if (!CookieBypass(request, policy).empty()) return No("cookie");
  if (ParseRequestCacheControl(request.headers.GetJoined("Cache-Control")).no_store) {
    return No("request-no-store");
  }
  if (IsServerError(response.status) || policy.cached_statuses.count(response.status) == 0) {
    return No("status");
  }
  const ResponseCacheControl cc =
      ParseResponseCacheControl(response.headers.GetJoined("Cache-Control"));
  if (cc.no_store) return No("no-store");
  if (cc.is_private) return No("private");
  if (response.headers.Has("Set-Cookie")) return No("set-cookie");
  if (VaryIsStar(response.headers)) return No("vary-star");
  return StoreVerdict{true, ""};
}

Headers StorableHeaders(const Headers& headers, absl::string_view cache_header) {
  std::vector<std::string> connection_named;
  for (absl::string_view name : absl::StrSplit(headers.GetJoined("Connection"), ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (!name.empty()) connection_named.emplace_back(name);
  }
  Headers kept;
  for (const Headers::Field& field : headers.fields()) {
    if (!IsDropped(field.first, connection_named, cache_header)) {
      kept.Add(field.first, field.second);
    }
  }
  return kept;
}

std::vector<std::string> ResponseTags(const Headers& headers, absl::string_view header) {
  std::vector<std::string> tags;
  if (header.empty()) return tags;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& line : headers.GetAll(header)) {
    for (absl::string_view tag : absl::StrSplit(line, absl::ByAnyChar(" \t,"), absl::SkipEmpty())) {
      if (seen.emplace(tag).second) tags.emplace_back(tag);
    }
  }
  return tags;
}

absl::StatusOr<std::vector<std::string>> StoredTags(const Request& request,
                                                    const Response& response,
                                                    const RoutePolicy& policy) {
  std::vector<std::string> tags = policy.tags;
  if (policy.tags_for) {
    for (std::string& tag : policy.tags_for(request)) tags.push_back(std::move(tag));
  }
  std::vector<std::string> own = ResponseTags(response.headers, policy.response_tags_header);
  if (!own.empty()) {
    const absl::flat_hash_set<std::string> route(tags.begin(), tags.end());
    for (std::string& tag : own) {
      if (!route.contains(tag)) tags.push_back(std::move(tag));
    }
  }
  if (absl::Status valid = ValidateRouteTags(tags); !valid.ok()) return valid;
  tags.push_back(PathTag(request.path));
  return tags;
}

}  // namespace larder::http

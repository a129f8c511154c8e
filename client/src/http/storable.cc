#include "larder/http/storable.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "larder/http/cache_control.h"

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

}  // namespace larder::http

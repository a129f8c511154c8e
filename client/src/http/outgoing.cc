#include "larder/http/outgoing.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "larder/common/etag.h"
#include "larder/http/cache_control.h"

namespace larder::http {
namespace {

bool NeedsPrivate(const Response& response, const Request& request, const RoutePolicy& policy) {
  return response.headers.Has("Set-Cookie") ||
         (request.headers.Has("Authorization") && !policy.shared) ||
         !CookieBypass(request, policy).empty();
}

std::string PrivateVariant(const RoutePolicy& policy) {
  ResponseCacheControl cc = ToCacheControl(policy.client);
  const bool nothing_set = FormatCacheControl(cc).empty();
  cc.is_public = false;
  cc.is_private = true;
  if (nothing_set) cc.no_cache = true;
  return FormatCacheControl(cc);
}

void MergeVary(Response& response, const RoutePolicy& policy) {
  if (policy.vary.empty()) return;
  std::vector<std::string> names;
  for (absl::string_view name : absl::StrSplit(response.headers.GetJoined("Vary"), ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (!name.empty()) names.emplace_back(name);
  }
  for (const std::string& name : policy.vary) {
    const bool listed = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return HeaderNameEquals(n, name) || n == "*";
    });
    if (!listed) names.push_back(name);
  }
  response.headers.Set("Vary", absl::StrJoin(names, ", "));
}

}  // namespace

std::string EnsureEtag(Response& response) {
  if (std::optional<std::string> etag = response.headers.Get("ETag")) return *etag;
  if (response.status < 200 || response.status > 299) return "";
  std::string etag = StrongEtagFor(response.body);
  response.headers.Add("ETag", etag);
  return etag;
}

void Decorate(Response& response, const Request& request, const RoutePolicy& policy,
              const Delivery& delivery, const OutgoingOptions& options) {
  if (!response.headers.Has("Cache-Control")) {
    response.headers.Set("Cache-Control", NeedsPrivate(response, request, policy)
                                              ? PrivateVariant(policy)
                                              : ClientCacheControl(policy));
  }
  MergeVary(response, policy);
  if (delivery.age.has_value()) {
    const absl::Duration age = std::max(*delivery.age, absl::ZeroDuration());
    response.headers.Set("Age", absl::StrCat(absl::ToInt64Seconds(age)));
  }
  if (!options.cache_header.empty() && !delivery.cache_result.empty()) {
    response.headers.Set(options.cache_header, delivery.cache_result);
  }
  response.headers.Set("Cache-Status", FormatCacheStatus(options.cache_name, delivery.status));
  if (request.method == "HEAD" && !response.body.empty()) {
    response.headers.Set("Content-Length", absl::StrCat(response.body.size()));
    response.body.clear();
  }
}

}  // namespace larder::http

// Storability: whether a rendered response may be kept in the shared cache and replayed to
// other clients, and which of its headers are kept.
//
//   larder::http::StoreVerdict verdict = larder::http::CheckStorable(request, response, policy);
//   if (verdict.storable) { store(StorableHeaders(response.headers)); }
//   else { log(verdict.reason); }   // e.g. "set-cookie"
//   auto tags = larder::http::StoredTags(request, response, policy);  // route, response, path
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/http/headers.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http {

struct StoreVerdict {
  bool storable = false;
  // Why not, as a short token: "method", "head", "authorization", "cookie", "request-no-store",
  // "status", "no-store", "private", "set-cookie", "vary-star". Empty when storable.
  std::string reason;
};

// A response is never stored when: the request is not a GET (HEAD renders may omit the body);
// it carries Authorization and the route is not shared; it carries Cookie and the route
// neither ignores cookies nor names those that matter (CookieBypass); it says Cache-Control:
// no-store; its status is not in the route's cached statuses (so 5xx never is, unless listed — and
// 5xx is refused even then); it says Cache-Control: no-store or private (qualified forms included);
// it sets a cookie; or it says Vary: *.
StoreVerdict CheckStorable(const Request& request, const Response& response,
                           const RoutePolicy& policy);

// The headers kept with a stored response: all but hop-by-hop fields (Connection and those it
// names, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Proxy-*), Content-Length, Age
// (recomputed when served; the upstream's goes into the corrected initial age), Set-Cookie /
// Set-Cookie2 (never replayed to another client), and this layer's own X-Cache / Cache-Status
// (named by `cache_header`).
Headers StorableHeaders(const Headers& headers, absl::string_view cache_header);

// The tags a response names in its `header` fields (RoutePolicy::response_tags_header): every
// field line of that name split at spaces, tabs and commas, in order, without empty items and
// repeats. Empty when `header` is empty or absent. O(bytes of those fields).
std::vector<std::string> ResponseTags(const Headers& headers, absl::string_view header);

// Every tag of `response` stored for `request`: the route's `tags`, then `tags_for`'s, then the
// response's own (ResponseTags of response_tags_header, those already present dropped), and
// the path tag (PathTag) last. kInvalidArgument (ValidateRouteTags) when the tags before the
// path tag are not all storable: then nothing may be stored, since an entry missing one of
// its tags would escape that tag's invalidation.
absl::StatusOr<std::vector<std::string>> StoredTags(const Request& request,
                                                    const Response& response,
                                                    const RoutePolicy& policy);

}  // namespace larder::http

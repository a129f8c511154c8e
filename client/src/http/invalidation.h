// Invalidation after a write (RFC 9111 section 4.4): which paths a non-error response to an
// unsafe method invalidates — the target URI's, and those of Location and Content-Location when
// they are on the same origin.
//
//   if (InvalidatesOnWrite(request, response))
//     for (const std::string& path : InvalidatedPaths(request, response)) InvalidatePath(path);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http::internal {

// True for a 2xx or 3xx response to a method IsInvalidatingMethod accepts.
bool InvalidatesOnWrite(const Request& request, const Response& response);

// The path `reference` (a URI reference from Location / Content-Location) names on the
// request's origin, without query or fragment: absolute-path and relative references are
// resolved against the request path (RFC 3986 section 5.2, dot segments removed); absolute
// URIs and network-path references count only when their scheme (when given) and authority
// equal the request's (ASCII case-insensitive, default ports ignored). nullopt for another
// origin or an unusable reference. O(reference + path).
std::optional<std::string> SameOriginPath(const Request& request, absl::string_view reference);

// The request's path, then the distinct same-origin paths of Location and Content-Location.
std::vector<std::string> InvalidatedPaths(const Request& request, const Response& response);

}  // namespace larder::http::internal

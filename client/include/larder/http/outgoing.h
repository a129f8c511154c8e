// Outgoing headers: what a client sees on every response of a cached route — ETag,
// Cache-Control, Vary, Age, X-Cache and Cache-Status — whether it came from larder or from
// the handler.
//
//   larder::http::EnsureEtag(response);
//   larder::http::Delivery delivery{"HIT", status, /*age=*/absl::Seconds(3)};
//   larder::http::Decorate(response, request, policy, delivery, options);
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "larder/http/cache_status.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::http {

struct OutgoingOptions {
  // The header carrying HIT / MISS / STALE. Empty sends none. Default: "X-Cache".
  std::string cache_header = "X-Cache";
  // The cache's name in Cache-Status. Default: "larder".
  std::string cache_name = "larder";
};

struct Delivery {
  // The cache_header value ("HIT", "MISS", "STALE"); empty sends none.
  std::string cache_result;
  CacheStatus status;
  // Age of a stored response (RFC 9111 section 5.1); unset for fresh renders.
  std::optional<absl::Duration> age;
};

// Adds a strong ETag computed from the body (larder::StrongEtagFor) to a 2xx response that has
// none; a handler's own ETag is kept. Returns the response's ETag ("" for non-2xx without one).
std::string EnsureEtag(Response& response);

// Sets the client-facing headers:
//  - Cache-Control: the handler's own when it set one; otherwise the policy's (ClientCacheControl),
//    made private (public becomes private; nothing set becomes "private, no-cache") when the
//    response sets a cookie, the request carries Authorization on a route not marked shared, or
//    its cookies keep it out of the shared cache (CookieBypass).
//  - Vary: the handler's, plus the policy's vary names not already listed.
//  - Age (whole seconds, never negative) when given; cache_header; Cache-Status.
// For HEAD the body is dropped and Content-Length announces the GET body's length.
void Decorate(Response& response, const Request& request, const RoutePolicy& policy,
              const Delivery& delivery, const OutgoingOptions& options);

}  // namespace larder::http

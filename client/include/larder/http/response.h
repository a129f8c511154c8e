// Response and StoredResponse: an HTTP response as a handler produced it, and as it is kept in
// larder together with the times that decide its freshness.
//
//   larder::http::Response response{200, {{"Content-Type", "application/json"}}, "{}"};
//   larder::http::StoredResponse stored{response, {/*etag=*/"\"ab…\"", now, now + ttl}};
#pragma once

#include <string>

#include "absl/time/time.h"
#include "larder/http/headers.h"

namespace larder::http {

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

// The freshness facts of a stored response: all the pure decision functions need.
struct StoredMeta {
  // The quoted entity tag clients validate against (weak or strong).
  std::string etag;
  // When the response was generated: the time it was stored minus its corrected initial age
  // (RFC 9111 section 4.2.3: the upstream's Age and Date, and the handler's delay), so that
  // now - stored_at is its current age, sent as Age.
  absl::Time stored_at = absl::InfinitePast();
  // Until when it may be served without revalidation: stored_at + its freshness lifetime (the
  // route's ttl or the response's own, see RoutePolicy::freshness).
  absl::Time fresh_until = absl::InfinitePast();
  // Which variant of the URL this is when the response carries Vary: the hash of the request's
  // values of the Vary headers it was rendered for (variants.h). Empty without Vary.
  std::string variant;
};

// A response as kept in larder: the handler's status, headers (with ETag) and body, plus meta.
struct StoredResponse {
  Response response;
  StoredMeta meta;
};

// True for 5xx statuses: the handler failed, and nothing is stored.
inline bool IsServerError(int status) { return status >= 500 && status <= 599; }

}  // namespace larder::http

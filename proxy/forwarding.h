// Forwarding: the rules of passing a client's request to the upstream and the upstream's response
// back, as functions of values. Hop-by-hop fields are removed both ways (RFC 9110 section 7.6.1),
// Via and X-Forwarded-* are added, the client's conditionals are kept from the renders the cache
// answers itself, upstream failures become 502 / 504 responses, and a response's Cache-Status
// tells which metrics label it counts under.
//
//   larder::proxy::IncomingRequest incoming = ...;   // from the front end (front_end.h)
//   larder::proxy::UpstreamRequest upstream = larder::proxy::BuildUpstreamRequest(incoming);
//   larder::proxy::StripConditionals(upstream.headers);
//   larder::http::Response failed = larder::proxy::FailureResponse(UpstreamFailure::kTimeout);
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "larder/http/headers.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::proxy {

// The Via entry this proxy adds to requests and responses (RFC 9110 section 7.6.3).
inline constexpr absl::string_view kVia = "1.1 larder-proxy";

// A request as the client sent it.
struct IncomingRequest {
  // The method token, e.g. "GET".
  std::string method;
  // The request target as received, not re-encoded: "/items/%37?q=a".
  std::string target;
  // The client's header fields, as received.
  http::Headers headers;
  std::string body;
  // The peer's address, e.g. "127.0.0.1".
  std::string client_address;
};

// What is sent to the upstream for one request.
struct UpstreamRequest {
  std::string method;
  // Sent as is in the request line.
  std::string target;
  http::Headers headers;
  std::string body;
};

// Why an upstream exchange produced no response.
enum class UpstreamFailure {
  kNone,
  kConnect,   // Refused or unreachable: 502.
  kTimeout,   // No connection, or no whole response, within the timeouts: 504.
  kTooLarge,  // The response body is over --max-response-body: 502.
  kProtocol,  // Reset, closed early or unreadable: 502.
};

// The `reason` label of larder_proxy_upstream_errors_total: connect, timeout, too_large,
// protocol ("" for kNone).
absl::string_view FailureReason(UpstreamFailure failure);

// What the client gets for a failure: 502 "upstream unavailable\n" (kConnect, kProtocol), 502
// "upstream response too large\n" or 504 "upstream timed out\n", text/plain, not storable
// anywhere (Cache-Control: no-store).
http::Response FailureResponse(UpstreamFailure failure);

// True for the fields only one connection is about: Connection, Keep-Alive, Proxy-Connection,
// Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade.
bool IsHopByHop(absl::string_view name);

// Removes the hop-by-hop fields and every field named in Connection. O(fields).
void RemoveHopByHop(http::Headers& headers);

// Appends kVia to the Via list ("1.0 fred, 1.1 larder-proxy").
void AppendVia(http::Headers& headers);

// Removes If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since and If-Range.
void StripConditionals(http::Headers& headers);

// The upstream request of `incoming`: same method, target, body and fields, minus the hop-by-hop
// ones, plus Via, X-Forwarded-For (the client's address appended to the list), and
// X-Forwarded-Proto ("http") and X-Forwarded-Host (the Host) unless the client sent them.
UpstreamRequest BuildUpstreamRequest(IncomingRequest incoming);

// The request HttpCache renders for a route it handles: HEAD asks for GET (as Varnish does, so
// the response's ETag is the body's and the cache drops the body itself), and the client's
// conditionals are removed unless `keep_conditionals`.
UpstreamRequest RenderRequestFor(UpstreamRequest request, bool keep_conditionals);

// True when HttpCache will bypass the request whatever is stored (decide.h rules 1-3: an unsafe
// method, Authorization, Cookie, no-store): its render is never stored nor compared with a stored
// response, so the client's conditionals may go to the upstream as sent.
bool KeepsClientConditionals(const http::Request& request, const http::RoutePolicy& policy);

// The core request HttpCache sees for `incoming` (whose decoded path is `path`): no body (the
// cache never reads it; the upstream request carries it).
http::Request CoreRequestOf(const IncomingRequest& incoming, const std::string& path);

// The path of a request target without its query: "/a%20b?x" -> "/a%20b".
absl::string_view TargetPath(absl::string_view target);

// How HttpCache answered, from the Cache-Status it set: "hit" (a fresh stored response, or a
// concurrent render's), "stale", "revalidated", "bypass" or "miss". O(header size).
absl::string_view CacheOutcome(const http::Headers& response_headers);

}  // namespace larder::proxy

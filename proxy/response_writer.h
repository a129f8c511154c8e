// ResponseWriter: the bytes of an HTTP/1.1 response as larder-proxy's front end (front_end.h)
// sends them: the status line, the response's own fields in their order, and framing the proxy
// owns (Content-Length, Connection). Nothing else is added: no Date, Server or Content-Type of
// its own, so a response goes back as the upstream or the cache produced it.
//
//   std::string out;
//   larder::proxy::AppendResponse(response, {.head_request = false, .close = false}, out);
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "larder/http/response.h"

namespace larder::proxy {

struct ResponseFraming {
  // The request was HEAD: no body is sent, the response's Content-Length (or the body's length)
  // still says what a GET would get.
  bool head_request = false;
  // The connection closes after this response: "Connection: close" is sent.
  bool close = false;
  // An HTTP/1.0 client that asked to keep the connection: "Connection: keep-alive" is sent.
  bool http10_keep_alive = false;
};

// The reason phrase of `status` ("OK", "Not Modified"...), "" for a code without one; RFC 9112
// section 4 lets a client ignore it.
absl::string_view ReasonPhrase(int status);

// Appends `response` to `out`. Framing: 1xx, 204 and 304 carry no body and no Content-Length of
// the proxy's own (a 304 keeps the one it was given); a HEAD response keeps its Content-Length or
// gets the body's length; every other response gets Content-Length: its body's length, replacing
// the field it had. Transfer-Encoding and Connection fields of `response` are not sent (the
// proxy removed hop-by-hop fields already; these would misframe the bytes). O(response bytes).
void AppendResponse(const http::Response& response, const ResponseFraming& framing,
                    std::string& out);

// A response of the proxy itself: `status`, text/plain `text`, Cache-Control: no-store.
http::Response PlainResponse(int status, std::string text);

}  // namespace larder::proxy

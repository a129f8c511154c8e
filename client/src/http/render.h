// Running a route's handler for the pipeline: exceptions captured, and a stored response with a
// validator revalidated (RFC 9111 section 4.3) by a conditional render whose 304 freshens it.
//
//   Rendered rendered = RenderRevalidating(handler, stored, request);
//   if (rendered.failed()) { /* stale-if-error or rethrow */ }
//   if (rendered.revalidated) { /* *rendered.response is the stored one, freshened */ }
#pragma once

#include <exception>
#include <optional>

#include "larder/http/headers.h"
#include "larder/http/http_cache.h"
#include "larder/http/response.h"

namespace larder::http::internal {

// A handler's result: a response, or the exception it threw.
struct Rendered {
  std::optional<Response> response;
  std::exception_ptr error;
  // True when the handler answered 304 to a conditional render and `response` is the stored
  // response updated from it.
  bool revalidated = false;
  bool failed() const { return error != nullptr || IsServerError(response->status); }
  int status() const { return error != nullptr ? 500 : response->status; }
};

// Runs the handler, capturing any exception.
Rendered RenderSafely(RouteHandler& handler);

// The conditional headers revalidating `stored`: If-None-Match with its ETag, If-Modified-Since
// with its Last-Modified. Empty when it has neither.
Headers ValidatorsOf(const StoredResponse& stored);

// The stored response updated from a 304 (RFC 9111 section 4.3.4): every field the 304
// carries replaces the stored ones of that name, but Content-Length, Content-Encoding and
// Content-Range are kept from the stored response.
Response Freshened(const StoredResponse& stored, const Response& not_modified);

// With a stored response carrying a validator and a handler that can take headers: a
// conditional render, whose 304 becomes the freshened stored response; otherwise RenderSafely.
// `request` is the one the handler is bound to: when it carries a precondition the validators
// would not replace (a client's If-None-Match beside a stored Last-Modified alone, If-Match,
// If-Unmodified-Since, If-Range), the handler's 304 could answer the client's condition rather
// than the stored response's, so it renders in full instead.
Rendered RenderRevalidating(RouteHandler& handler, const std::optional<StoredResponse>& stored,
                            const Request& request);

}  // namespace larder::http::internal

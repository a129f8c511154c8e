// The Boost.Beast adapter of the HTTP caching layer: wraps a handler of string-bodied Beast
// messages. It shows the core is framework-free; servers own their accept/read/write loop.
//
//   larder::beast::Handler get_item = [](const larder::beast::BeastRequest& request) {
//     larder::beast::BeastResponse response{boost::beast::http::status::ok, request.version()};
//     response.body() = R"({"id":7})";
//     return response;
//   };
//   auto cached = larder::beast::Cached(*cache, policy, get_item);
//   BeastResponse response = cached(request);       // then http::write(socket, response)
#pragma once

#include <functional>
#include <string>

#include "boost/beast/http.hpp"
#include "larder/http/http_cache.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::beast {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Handler = std::function<BeastResponse(const BeastRequest&)>;

// Wraps `handler` so its responses are cached by `cache` (which must outlive the returned
// handler) under `policy`. Requests are copied, so stale-while-revalidate refreshes always run
// in the background. A stale stored response with an ETag or Last-Modified is revalidated:
// `handler` runs on a copy of the request whose If-None-Match / If-Modified-Since are the stored
// validators (replacing the client's own), and may answer 304 (RFC 9111 section 4.3). An
// invalid policy (ValidatePolicy) serves the route uncached. `scheme` is
// how the server's clients connect ("https" behind TLS): part of the key. Range is ignored: a
// 2xx GET or HEAD goes out whole with "Accept-Ranges: none", as the cpp-httplib adapter does.
Handler Cached(http::HttpCache& cache, http::RoutePolicy policy, Handler handler,
               std::string scheme = "http");

// Conversions (exposed for tests). The host comes from the Host field; the path is the
// target's up to '?' (or '#'), percent-decoded by http::DecodePath exactly as cpp-httplib
// decodes req.path, so both adapters key a request alike and a write to "/items/%37"
// invalidates what "/items/7" stored; the query is the raw text after '?'.
http::Request ToCoreRequest(const BeastRequest& request, const std::string& scheme = "http");
http::Response ToCoreResponse(const BeastResponse& response);
// Builds the Beast response for `request`: Content-Length from the body, except for HEAD (the
// core's announced length) and 304 (none); keep-alive as the request asked; "Accept-Ranges:
// none" on a 2xx answer to GET or HEAD.
BeastResponse FromCoreResponse(const http::Response& core, const BeastRequest& request);

}  // namespace larder::beast

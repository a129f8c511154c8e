// The cpp-httplib adapter of the HTTP caching layer: one line per cached route.
//
//   #include "larder/httplib/cached.h"   // brings <httplib.h>
//
//   larder::httplib::ConfigureServer(server, {});    // TCP_NODELAY, keep-alive, thread pool
//   int port = larder::httplib::Bind(server, "0.0.0.0", 8080, {});   // listen backlog 1024
//   larder::http::RoutePolicy items;
//   items.cache_namespace = "items";
//   items.ttl = absl::Seconds(30);
//   server.Get("/items/(\\d+)", larder::httplib::Cached(*cache, items, GetItem));
//   server.Put("/items/(\\d+)", larder::httplib::Cached(*cache, items, PutItem));  // invalidates
//
// Every translation unit including httplib.h must see the same CPPHTTPLIB_* definitions; the
// larder::httplib CMake target exports them (CPPHTTPLIB_TCP_NODELAY=true and the system
// library's own), so link it rather than including httplib.h by hand.
#pragma once

#ifndef CPPHTTPLIB_TCP_NODELAY
#error "CPPHTTPLIB_TCP_NODELAY must be defined for every TU: link the larder::httplib target"
#endif

#include <httplib.h>

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "larder/http/http_cache.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"

namespace larder::httplib {

// Wraps `handler` so its responses are cached by `cache` under `policy` (see
// larder/http/http_cache.h). `cache` must outlive the server. Exceptions thrown by `handler`
// reach cpp-httplib unchanged (it answers 500) unless a stale-if-error response replaces them.
// A policy that fails ValidatePolicy is reported once on standard error and the route then runs
// uncached.
//
// A stale stored response with an ETag or Last-Modified is revalidated (RFC 9111 section 4.3):
// `handler` runs on a copy of the request (same path, captures and body) whose If-None-Match /
// If-Modified-Since are the stored validators, replacing the client's own, and may answer 304;
// the client then gets the stored response. A route whose regex captures cannot be rebuilt on
// a copy (an unmatched optional group) renders in full instead, as its refreshes do.
//
// Responses go out byte for byte as the cache produced them, under their ETag: the wrapper turns
// off cpp-httplib's own Range cutting and compression for the request (it takes the parsed
// ranges and Accept-Encoding out of the request cpp-httplib owns, after the cache has used
// them; a logger sees them gone). Range is ignored: GET and HEAD answer the full 200 with
// "Accept-Ranges: none". A handler that wants compression compresses itself (setting
// Content-Encoding, with "Accept-Encoding" in the policy's vary), so the stored bytes, the ETag
// and the key agree. cpp-httplib still answers 416 by itself, before any handler runs, to a
// Range it cannot parse (another unit, a first position after the last).
::httplib::Server::Handler Cached(http::HttpCache& cache, http::RoutePolicy policy,
                                  ::httplib::Server::Handler handler);

struct ServerOptions {
  // Worker threads; each handles one connection at a time. Default: 16.
  size_t threads = 16;
  // Requests served on one keep-alive connection before it is closed. cpp-httplib's default (5)
  // makes clients reconnect constantly. Default: 100000.
  size_t keep_alive_max_count = 100000;
  // Idle time before a keep-alive connection is closed. Default: 5 s.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Pending connections the kernel queues (used by Bind). cpp-httplib's compiled-in 5 makes a
  // burst of new connections wait a second for SYN retransmits. Default: 1024.
  int listen_backlog = 1024;
};

// Applies TCP_NODELAY, the keep-alive limits and a thread pool of `threads` to `server`, and
// installs a post-routing handler that keeps "Content-Length: 0" off 304 responses (replacing
// any post-routing handler set before). Call before binding.
void ConfigureServer(::httplib::Server& server, const ServerOptions& options);

// Binds `server` to host:port (port 0 picks a free one) with options.listen_backlog, then
// returns the port, or -1. Serve with server.listen_after_bind().
int Bind(::httplib::Server& server, const std::string& host, int port,
         const ServerOptions& options);

// Conversions between cpp-httplib and the framework-free core (exposed for tests). The core
// request's path is cpp-httplib's decoded req.path (http::DecodePath of the target's path); its
// scheme is "https" for a request that came over TLS (an SSLServer), else "http".
http::Request ToCoreRequest(const ::httplib::Request& request);
http::Response ToCoreResponse(::httplib::Response& response);
void ApplyCoreResponse(const http::Response& core, ::httplib::Response& response);

}  // namespace larder::httplib

// Request: what the HTTP caching core knows about an incoming request, independent of any web
// framework. Adapters fill one from their framework's request.
//
//   larder::http::Request request;
//   request.scheme = "https";
//   request.method = "GET";
//   request.host = "example.com";
//   request.path = larder::http::DecodePath("/items/%37");   // "/items/7"
//   request.query = "page=2&q=tea";
//   request.headers.Add("Accept-Language", "de");
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "larder/http/headers.h"

namespace larder::http {

// A plain value; copy it to keep it beyond the request (background refreshes do).
struct Request {
  // "http" or "https", as the connection was made: part of the cache key.
  std::string scheme = "http";
  // Upper-case method token, e.g. "GET".
  std::string method;
  // The Host header's value (or the authority), e.g. "example.com:8080".
  std::string host;
  // The path without the query, percent-decoded by DecodePath (what cpp-httplib's req.path
  // holds), e.g. "/items/7" for "/items/%37". Keys and path invalidation use it, so every
  // encoding of one path shares entries and invalidations.
  std::string path;
  // The raw query string without the leading '?', e.g. "q=tea&page=2".
  std::string query;
  Headers headers;
  std::string body;
};

// The path of a request target as cpp-httplib decodes it into req.path, so every adapter keys a
// request the same way: each "%XX" (two hex digits, either case) becomes that byte, and
// cpp-httplib's non-standard "%uXXXX" the UTF-8 encoding of that code point (nothing for a
// surrogate); any other '%' stays as is; '+' is not a space. `raw` is the target before '?'.
// O(raw.size()).
std::string DecodePath(absl::string_view raw);

// True for GET and HEAD, the methods whose responses this layer caches.
bool IsCacheableMethod(const Request& request);
// True for every method not known to be safe (RFC 9111 section 4.4): all but GET, HEAD,
// OPTIONS and TRACE. Their success invalidates the path's stored responses, whatever the method
// (POST, PUT, PATCH, DELETE, or an extension such as PROPPATCH or PURGE).
bool IsInvalidatingMethod(const Request& request);

}  // namespace larder::http

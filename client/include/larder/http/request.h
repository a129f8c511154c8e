// Request: what the HTTP caching core knows about an incoming request, independent of any web
// framework. Adapters fill one from their framework's request.
//
//   larder::http::Request request;
//   request.method = "GET";
//   request.host = "example.com";
//   request.path = "/items/7";
//   request.query = "page=2&q=tea";
//   request.headers.Add("Accept-Language", "de");
#pragma once

#include <string>

#include "larder/http/headers.h"

namespace larder::http {

// A plain value; copy it to keep it beyond the request (background refreshes do).
struct Request {
  // "http" or "https": part of the cache key.
  std::string scheme = "http";
  // Upper-case method token, e.g. "GET".
  std::string method;
  // The Host header's value (or the authority), e.g. "example.com:8080".
  std::string host;
  // The path without the query, percent-encoded as received, e.g. "/items/7".
  std::string path;
  // The raw query string without the leading '?', e.g. "q=tea&page=2".
  std::string query;
  Headers headers;
  std::string body;
};

// True for GET and HEAD, the methods whose responses this layer caches.
bool IsCacheableMethod(const Request& request);
// True for POST, PUT, PATCH and DELETE, whose success invalidates the path's entries.
bool IsInvalidatingMethod(const Request& request);

}  // namespace larder::http

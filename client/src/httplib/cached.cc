#include "larder/httplib/cached.h"

#include <sys/socket.h>

#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "client/src/httplib/replay.h"

namespace larder::httplib {
namespace {

using SharedHandler = std::shared_ptr<const ::httplib::Server::Handler>;

// A request of cpp-httplib bound to its route handler; detachable and able to revalidate
// (WithHeaders) unless its regex captures cannot be re-established on a copy (ReplayableCopy).
class HttplibRouteHandler final : public http::RouteHandler {
 public:
  HttplibRouteHandler(const ::httplib::Request& request, SharedHandler handler,
                      std::shared_ptr<const ::httplib::Request> owned = nullptr)
      : request_(request), handler_(std::move(handler)), owned_(std::move(owned)) {}

  http::Response Render() override {
    ::httplib::Response response;
    (*handler_)(request_, response);
    return ToCoreResponse(response);
  }

  std::unique_ptr<http::RouteHandler> Detach() const override {
    std::shared_ptr<const ::httplib::Request> copy = internal::ReplayableCopy(request_);
    if (copy == nullptr) return nullptr;
    return std::make_unique<HttplibRouteHandler>(*copy, handler_, copy);
  }

  // Like Detach, on a copy whose fields named in `headers` are replaced by them.
  std::unique_ptr<http::RouteHandler> WithHeaders(const http::Headers& headers) const override {
    std::shared_ptr<const ::httplib::Request> copy =
        internal::ReplayableCopyWithHeaders(request_, headers);
    if (copy == nullptr) return nullptr;
    return std::make_unique<HttplibRouteHandler>(*copy, handler_, copy);
  }

 private:
  const ::httplib::Request& request_;
  SharedHandler handler_;
  std::shared_ptr<const ::httplib::Request> owned_;  // Keeps request_ alive when detached.
};

// Reads a content provider's output into a string; false when it fails or never finishes.
bool DrainContentProvider(::httplib::Response& response, std::string& body) {
  bool done = false;
  ::httplib::DataSink sink;
  sink.write = [&](const char* data, size_t size) {
    body.append(data, size);
    return true;
  };
  sink.done = [&] { done = true; };
  sink.is_writable = [] { return true; };
  const size_t length = response.content_length_;
  int idle_calls = 0;
  while (!done && (length == 0 || body.size() < length)) {
    const size_t before = body.size();
    const size_t wanted = length == 0 ? 0 : length - body.size();
    if (!response.content_provider_(body.size(), wanted, sink)) return false;
    idle_calls = body.size() == before ? idle_calls + 1 : 0;
    if (idle_calls > 1000) return false;
  }
  return true;
}

// cpp-httplib 0.11 post-processes every routed response after its handler returns, from the
// request it parsed: it cuts the body to the request's Range (status left at 200, the full
// body's ETag kept) and compresses it when Accept-Encoding mentions gzip or br (even with q=0),
// under the same ETag and without Vary. A cached route sends the bytes its ETag names, so both
// are turned off by taking the parsed ranges and Accept-Encoding out of the request. The server
// owns that request (a local of its request loop) and hands it over as const only by type.
void KeepResponseAsIs(const ::httplib::Request& request, ::httplib::Response& response) {
  auto& owned = const_cast<::httplib::Request&>(request);  // NOLINT: not a const object.
  owned.ranges.clear();
  owned.headers.erase("Accept-Encoding");
  if ((request.method == "GET" || request.method == "HEAD") && response.status >= 200 &&
      response.status <= 299) {
    // Range is ignored (RFC 9110 section 14.2 allows it); cpp-httplib would say "bytes" on HEAD.
    response.set_header("Accept-Ranges", "none");
  }
}

}  // namespace

http::Request ToCoreRequest(const ::httplib::Request& request) {
  http::Request core;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  core.scheme = request.ssl != nullptr ? "https" : "http";
#endif
  core.method = request.method;
  core.host = request.get_header_value("Host");
  core.path = request.path;  // Decoded by cpp-httplib, as http::DecodePath does.
  const size_t question = request.target.find('?');
  if (question != std::string::npos) core.query = request.target.substr(question + 1);
  for (const auto& [name, value] : request.headers) core.headers.Add(name, value);
  core.body = request.body;
  return core;
}

http::Response ToCoreResponse(::httplib::Response& response) {
  http::Response core;
  core.status = response.status == -1 ? 200 : response.status;
  for (const auto& [name, value] : response.headers) core.headers.Add(name, value);
  core.body = response.body;
  if (response.content_provider_ && !DrainContentProvider(response, core.body)) {
    core.status = 500;
    core.body = "content provider failed";
  }
  return core;
}

void ApplyCoreResponse(const http::Response& core, ::httplib::Response& response) {
  response.status = core.status;
  response.headers.clear();
  for (const auto& [name, value] : core.headers.fields()) response.headers.emplace(name, value);
  response.body = core.body;
}

::httplib::Server::Handler Cached(http::HttpCache& cache, http::RoutePolicy policy,
                                  ::httplib::Server::Handler handler) {
  auto shared = std::make_shared<const ::httplib::Server::Handler>(std::move(handler));
  if (absl::Status valid = http::ValidatePolicy(policy); !valid.ok()) {
    std::cerr << "larder: route policy \"" << http::RouteLabel(policy)
              << "\" is invalid, serving it uncached: " << valid << std::endl;
    return [shared](const ::httplib::Request& request, ::httplib::Response& response) {
      (*shared)(request, response);
    };
  }
  auto shared_policy = std::make_shared<const http::RoutePolicy>(std::move(policy));
  return [&cache, shared, shared_policy](const ::httplib::Request& request,
                                         ::httplib::Response& response) {
    HttplibRouteHandler route_handler(request, shared);
    ApplyCoreResponse(cache.Handle(ToCoreRequest(request), *shared_policy, route_handler),
                      response);
    KeepResponseAsIs(request, response);
  };
}

void ConfigureServer(::httplib::Server& server, const ServerOptions& options) {
  const size_t threads = options.threads == 0 ? 1 : options.threads;
  server.new_task_queue = [threads] { return new ::httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(options.keep_alive_max_count);
  server.set_keep_alive_timeout(
      static_cast<time_t>(absl::ToInt64Seconds(options.keep_alive_timeout)));
  // cpp-httplib adds "Content-Length: 0" to every empty response; on a 304 that would misstate
  // the length of the 200 it stands for (RFC 9110 section 8.6), so it is taken out again.
  server.set_post_routing_handler([](const ::httplib::Request&, ::httplib::Response& response) {
    if (response.status == 304 && response.body.empty()) {
      response.headers.erase("Content-Length");
    }
  });
}

}  // namespace larder::httplib

namespace larder::httplib {

int Bind(::httplib::Server& server, const std::string& host, int port,
         const ServerOptions& options) {
  auto bound_socket = std::make_shared<int>(-1);
  server.set_socket_options([bound_socket](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *bound_socket = sock;  // The last socket tried is the one bound.
  });
  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  // cpp-httplib listened with its compiled-in backlog; listening again raises it.
  if (bound > 0 && *bound_socket >= 0) ::listen(*bound_socket, options.listen_backlog);
  return bound;
}

}  // namespace larder::httplib

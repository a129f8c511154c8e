#include "proxy/proxy_server.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "larder/client.h"
#include "larder/client_options.h"
#include "larder/common/status_macros.h"
#include "larder/http/larder_response_store.h"
#include "larder/http/request.h"
#include "larder/httplib/cached.h"

namespace larder::proxy {
namespace {

// Lists, on a response Serve produced, the fields the upstream or the cache did not send, so
// the post-routing handler takes out those cpp-httplib adds by itself (Content-Type: text/plain
// on a body, Content-Length: 0 on a 204 or 304, Accept-Ranges: bytes on HEAD).
constexpr char kAbsentFields[] = "larder-proxy-absent-fields";

// The fields cpp-httplib adds to a response lacking them.
constexpr absl::string_view kAddedByHttplib[] = {"Content-Type", "Content-Length", "Accept-Ranges"};

// A handler forwarding one request to the upstream: HttpCache's RouteHandler. Copies share the
// request; revalidation copies (WithHeaders) also share where a failure is recorded.
class ForwardingHandler final : public http::RouteHandler {
 public:
  ForwardingHandler(std::shared_ptr<UpstreamPool> pool, std::string route,
                    std::shared_ptr<const UpstreamRequest> request,
                    std::shared_ptr<std::atomic<UpstreamFailure>> failure)
      : pool_(std::move(pool)),
        route_(std::move(route)),
        request_(std::move(request)),
        failure_(std::move(failure)) {}

  http::Response Render() override {
    UpstreamFailure failure = UpstreamFailure::kNone;
    http::Response response = pool_->Forward(*request_, route_, &failure);
    if (failure != UpstreamFailure::kNone) failure_->store(failure);
    return response;
  }

  std::unique_ptr<http::RouteHandler> Detach() const override {
    return std::make_unique<ForwardingHandler>(pool_, route_, request_,
                                               std::make_shared<std::atomic<UpstreamFailure>>());
  }

  std::unique_ptr<http::RouteHandler> WithHeaders(const http::Headers& headers) const override {
    auto changed = std::make_shared<UpstreamRequest>(*request_);
    for (const auto& [name, value] : headers.fields()) changed->headers.Set(name, value);
    return std::make_unique<ForwardingHandler>(pool_, route_, std::move(changed), failure_);
  }

 private:
  std::shared_ptr<UpstreamPool> pool_;
  std::string route_;
  std::shared_ptr<const UpstreamRequest> request_;
  std::shared_ptr<std::atomic<UpstreamFailure>> failure_;
};

// An answer of the proxy itself (not the upstream's), in text/plain.
void Refuse(::httplib::Response& response, int status, const std::string& text) {
  response.status = status;
  response.set_content(text, "text/plain");
}

// Bytes of the client's header fields: names, values, ": " and CRLF.
int64_t HeaderBytes(const ::httplib::Request& request) {
  int64_t bytes = 0;
  for (const auto& [name, value] : request.headers) {
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    bytes += static_cast<int64_t>(name.size() + value.size() + 4);
  }
  return bytes;
}

bool ReadsBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool HasBody(const ::httplib::Request& request) {
  return request.has_header("Transfer-Encoding") ||
         (request.has_header("Content-Length") &&
          request.get_header_value("Content-Length") != "0");
}

// A refusal after which cpp-httplib closes the connection: its body provider reports a failure
// once the text is written, which ends the connection's request loop. Used when the request's
// body is left unread, so that it is never taken for the next request.
void RefuseAndClose(::httplib::Response& response, int status, std::string text) {
  response.status = status;
  response.set_header("Connection", "close");
  const size_t length = text.size();
  response.set_content_provider(
      length, "text/plain",
      [text = std::move(text)](size_t offset, size_t, ::httplib::DataSink& sink) {
        sink.write(text.data() + offset, text.size() - offset);
        return false;
      });
}

// True when the request announces a body over `max_body` bytes.
bool AnnouncesTooLargeBody(const ::httplib::Request& request, int64_t max_body) {
  uint64_t length = 0;
  return absl::SimpleAtoi(request.get_header_value("Content-Length"), &length) &&
         length > static_cast<uint64_t>(max_body);
}

// Takes out the fields cpp-httplib added to a response of Serve (see kAbsentFields).
void RemoveAddedFields(const ::httplib::Request& request, ::httplib::Response& response) {
  const std::string absent = response.get_header_value(kAbsentFields);
  response.headers.erase(kAbsentFields);
  const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304 ||
                        request.method == "HEAD";
  for (absl::string_view name : absl::StrSplit(absent, ',', absl::SkipEmpty())) {
    // A body's length stays: cpp-httplib computed it from the bytes it sends.
    if (name == "Content-Length" && !bodiless) continue;
    response.headers.erase(std::string(name));
  }
}

// Hands `answer` to cpp-httplib, which is kept from changing it: no Range cutting, no
// compression (as larder/httplib/cached.cc does), no duplicate Content-Length.
void Reply(const ::httplib::Request& request, ::httplib::Response& response,
           http::Response answer) {
  std::string absent;
  for (absl::string_view name : kAddedByHttplib) {
    if (!answer.headers.Has(name)) absl::StrAppend(&absent, absent.empty() ? "" : ",", name);
  }
  // cpp-httplib sets the length of a body itself, and would add a second field.
  if (!answer.body.empty()) answer.headers.Remove("Content-Length");
  response.status = answer.status;
  response.headers.clear();
  for (auto& [name, value] : answer.headers.fields()) response.headers.emplace(name, value);
  if (!absent.empty()) response.headers.emplace(kAbsentFields, absent);
  response.body = std::move(answer.body);
  auto& owned = const_cast<::httplib::Request&>(request);  // NOLINT: not a const object.
  owned.ranges.clear();
  owned.headers.erase("Accept-Encoding");
}

// The namespaces of the cached routes, at most 64 (NearCacheOptions' limit), in config order.
std::vector<std::string> CachedNamespaces(const ProxyConfig& config) {
  std::vector<std::string> namespaces;
  auto add = [&](const ProxyRoute& route) {
    const std::string& name = route.policy.cache_namespace;
    if (route.cache && namespaces.size() < 64 &&
        std::find(namespaces.begin(), namespaces.end(), name) == namespaces.end()) {
      namespaces.push_back(name);
    }
  };
  for (const ProxyRoute& route : config.routes) add(route);
  add(config.default_route);
  return namespaces;
}

ClientOptions ClientOptionsFor(const ProxyOptions& options, const ProxyConfig& config,
                               std::shared_ptr<prometheus::Registry> registry) {
  ClientOptions client;
  client.target = options.larder;
  client.deadline = options.larder_deadline;
  client.auth_token_file = options.auth_token_file;
  client.metrics_registry = std::move(registry);
  if (options.near_cache_bytes > 0) {
    client.near_cache.namespaces = CachedNamespaces(config);
    client.near_cache.max_bytes = options.near_cache_bytes;
  }
  return client;
}

UpstreamPoolOptions PoolOptionsFor(const ProxyOptions& options) {
  UpstreamPoolOptions pool;
  pool.upstream = options.upstream;
  pool.max_connections = options.upstream_connections;
  pool.connect_timeout = options.upstream_connect_timeout;
  pool.timeout = options.upstream_timeout;
  pool.max_response_body = options.max_response_body;
  return pool;
}

}  // namespace

struct ProxyServer::Answer {
  http::Response response;
  // The `cache` label of larder_proxy_requests_total.
  std::string cache;
};

absl::StatusOr<std::unique_ptr<ProxyServer>> ProxyServer::Create(
    const ProxyOptions& options, ProxyConfig config,
    std::shared_ptr<prometheus::Registry> registry) {
  auto proxy = std::unique_ptr<ProxyServer>(new ProxyServer(options));
  proxy->registry_ = registry;
  LARDER_ASSIGN_OR_RETURN(proxy->metrics_, ProxyMetrics::Create(registry));
  proxy->pool_ = std::make_shared<UpstreamPool>(PoolOptionsFor(options), proxy->metrics_.get());
  auto client = Client::Create(ClientOptionsFor(options, config, registry));
  if (!client.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the larder client: ", client.status().message()));
  }
  proxy->client_ = *std::move(client);
  http::HttpCacheOptions cache_options;
  cache_options.metrics_registry = registry;
  LARDER_ASSIGN_OR_RETURN(
      proxy->cache_,
      http::HttpCache::Create(http::NewLarderResponseStore(proxy->client_), cache_options));
  proxy->config_ = std::make_shared<const ProxyConfig>(std::move(config));
  proxy->server_ = std::make_unique<::httplib::Server>();
  return proxy;
}

ProxyServer::~ProxyServer() { Stop(absl::Seconds(10)); }

void ProxyServer::InstallHandlers() {
  ::httplib::Server& server = *server_;
  server.set_payload_max_length(static_cast<size_t>(options_.max_request_body));
  server.set_pre_routing_handler(
      [this](const ::httplib::Request& request, ::httplib::Response& response) {
        return PreRoute(request, response);
      });
  // Asked before cpp-httplib answers "100 Continue": a body announced too large is refused
  // instead, and never sent.
  server.set_expect_100_continue_handler(
      [this](const ::httplib::Request& request, ::httplib::Response& response) {
        if (!AnnouncesTooLargeBody(request, options_.max_request_body)) return 100;
        metrics_->CountRequestBodyRefused();
        Refuse(response, 413, "request body too large\n");
        response.set_header("Connection", "close");
        return 413;
      });
  server.set_post_routing_handler(RemoveAddedFields);
  const auto plain = [this](const ::httplib::Request& request, ::httplib::Response& response) {
    Serve(request, response, "");
  };
  const auto with_body = [this](const ::httplib::Request& request, ::httplib::Response& response,
                                const ::httplib::ContentReader& reader) {
    ServeWithBody(request, response, reader);
  };
  server.Get("/", plain);  // GET and HEAD.
  server.Options("/", plain);
  server.Post("/", with_body);
  server.Put("/", with_body);
  server.Patch("/", with_body);
  server.Delete("/", with_body);
}

absl::Status ProxyServer::Start() {
  larder::httplib::ServerOptions server_options;
  server_options.threads = static_cast<size_t>(options_.threads);
  larder::httplib::ConfigureServer(*server_, server_options);
  InstallHandlers();  // After ConfigureServer: replaces its post-routing handler.
  if (options_.admin_listen.has_value()) {
    AdminServerOptions admin;
    admin.listen = *options_.admin_listen;
    admin.registry = registry_;
    admin.readiness = [this] { return Readiness(); };
    LARDER_ASSIGN_OR_RETURN(admin_, AdminServer::Start(std::move(admin)));
  }
  port_ =
      larder::httplib::Bind(*server_, options_.listen.host, options_.listen.port, server_options);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", FormatHostPort(options_.listen)));
  }
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    ended_.Notify();
  });
  // Stop() is a no-op until the accept loop runs, so Start returns only once it does.
  while (!server_->is_running() && !ended_.HasBeenNotified()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

bool ProxyServer::Stop(absl::Duration grace) {
  stopping_ = true;
  if (thread_.joinable()) {
    server_->stop();
    if (!ended_.WaitForNotificationWithTimeout(grace)) {
      thread_.detach();
      return false;
    }
    thread_.join();
  }
  if (admin_ != nullptr) admin_->Stop();
  return true;
}

absl::Status ProxyServer::Readiness() {
  if (stopping_) return absl::UnavailableError("shutting down");
  absl::MutexLock lock(&readiness_mutex_);
  const absl::Time now = absl::Now();
  if (now - checked_at_ >= absl::Seconds(1)) {
    last_readiness_ = pool_->CheckConnect();
    checked_at_ = now;
  }
  return last_readiness_;
}

// Checks a request before cpp-httplib reads its body, and prepares it: its body fields hidden
// (HideBodyFields) and its path replaced by "/", the one pattern the handlers are registered
// under (routes are matched by the proxy on the target; std::regex on any path would cost time
// and fail on a decoded newline).
::httplib::Server::HandlerResponse ProxyServer::PreRoute(const ::httplib::Request& request,
                                                         ::httplib::Response& response) {
  using HandlerResponse = ::httplib::Server::HandlerResponse;
  if (request.method == "CONNECT" || request.method == "TRACE" || request.method == "PRI") {
    Refuse(response, 405, "method not allowed\n");
    response.set_header("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    return HandlerResponse::Handled;
  }
  if (HeaderBytes(request) > options_.max_header_bytes) {
    Refuse(response, 431, "request header fields too large\n");
    return HandlerResponse::Handled;
  }
  if (AnnouncesTooLargeBody(request, options_.max_request_body)) {
    // Refused from the headers: the body is neither waited for nor read.
    metrics_->CountRequestBodyRefused();
    RefuseAndClose(response, 413, "request body too large\n");
    return HandlerResponse::Handled;
  }
  if (!ReadsBody(request.method) && HasBody(request)) {
    // cpp-httplib reads no body for these methods: it would be taken for the next request.
    RefuseAndClose(response, 400, "a " + request.method + " request must not carry a body\n");
    return HandlerResponse::Handled;
  }
  auto& owned = const_cast<::httplib::Request&>(request);  // NOLINT: not a const object.
  HideBodyFields(owned);
  owned.path = "/";
  return HandlerResponse::Unhandled;
}

void ProxyServer::ServeWithBody(const ::httplib::Request& request, ::httplib::Response& response,
                                const ::httplib::ContentReader& reader) {
  const auto max = static_cast<size_t>(options_.max_request_body);
  std::string body;
  bool too_large = false;
  // Past the limit, the rest is read and dropped, so the connection stays usable.
  const bool read = reader([&](const char* data, size_t size) {
    too_large = too_large || body.size() + size > max;
    if (too_large) {
      std::string().swap(body);
    } else {
      body.append(data, size);
    }
    return true;
  });
  if (too_large || response.status == 413) {
    metrics_->CountRequestBodyRefused();
    return Refuse(response, 413, "request body too large\n");
  }
  if (!read) return Refuse(response, 400, "unreadable request body\n");
  Serve(request, response, std::move(body));
}

void ProxyServer::Serve(const ::httplib::Request& request, ::httplib::Response& response,
                        std::string body) {
  IncomingRequest incoming = IncomingFromHttplib(request, std::move(body));
  const std::string path = http::DecodePath(TargetPath(incoming.target));
  const ProxyRoute& route = MatchRoute(*config_, path);
  const std::string method = incoming.method;
  Answer answer = Dispatch(route, std::move(incoming), path);
  if (config_->strip_tags_header && !config_->tags_header.empty()) {
    answer.response.headers.Remove(config_->tags_header);
  }
  AppendVia(answer.response.headers);
  metrics_->CountRequest(http::RouteLabel(route.policy), method, answer.cache);
  Reply(request, response, std::move(answer.response));
}

ProxyServer::Answer ProxyServer::Dispatch(const ProxyRoute& route, IncomingRequest incoming,
                                          const std::string& path) {
  const std::string& label = http::RouteLabel(route.policy);
  const http::Request core = CoreRequestOf(incoming, path);
  if (incoming.headers.Has("Range") || (!route.cache && !http::IsInvalidatingMethod(core))) {
    UpstreamFailure failure = UpstreamFailure::kNone;
    http::Response response =
        pool_->Forward(BuildUpstreamRequest(std::move(incoming)), label, &failure);
    return {std::move(response), failure == UpstreamFailure::kNone ? "pass" : "error"};
  }
  const bool keep_conditionals = KeepsClientConditionals(core, route.policy);
  auto request = std::make_shared<const UpstreamRequest>(
      RenderRequestFor(BuildUpstreamRequest(std::move(incoming)), keep_conditionals));
  auto failure = std::make_shared<std::atomic<UpstreamFailure>>(UpstreamFailure::kNone);
  ForwardingHandler handler(pool_, label, std::move(request), failure);
  http::Response response = cache_->Handle(core, route.policy, handler);
  std::string outcome(CacheOutcome(response.headers));
  if (absl::StrContains(response.headers.GetJoined("Cache-Status"), "; collapsed")) {
    metrics_->CountCoalescedWait();
  }
  if (failure->load() != UpstreamFailure::kNone && outcome != "stale" &&
      http::IsServerError(response.status)) {
    outcome = "error";
  } else if (!route.cache) {
    outcome = "pass";  // An unsafe method on an uncached route, through the cache to invalidate.
  }
  return {std::move(response), std::move(outcome)};
}

}  // namespace larder::proxy

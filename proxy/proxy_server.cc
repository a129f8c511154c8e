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

FrontEndOptions FrontEndOptionsFor(const ProxyOptions& options, ProxyMetrics& metrics) {
  FrontEndOptions front;
  front.host = options.listen.host;
  front.port = options.listen.port;
  front.event_loops = options.event_loops;
  front.workers = options.threads;
  // The near cache fills from Gets: with it, the loops answer hits from it, workers the rest.
  front.max_batch_keys = options.near_cache_bytes > 0 ? 0 : options.lookup_batch_keys;
  front.limits.max_head_bytes = options.max_header_bytes;
  front.limits.max_body_bytes = options.max_request_body;
  front.on_body_refused = [&metrics] { metrics.CountRequestBodyRefused(); };
  return front;
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

struct ProxyServer::Outcome {
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
  return proxy;
}

ProxyServer::~ProxyServer() { Stop(absl::Seconds(10)); }

absl::Status ProxyServer::Start() {
  if (options_.admin_listen.has_value()) {
    AdminServerOptions admin;
    admin.listen = *options_.admin_listen;
    admin.registry = registry_;
    admin.readiness = [this] { return Readiness(); };
    LARDER_ASSIGN_OR_RETURN(admin_, AdminServer::Start(std::move(admin)));
  }
  auto front = FrontEnd::Start(FrontEndOptionsFor(options_, *metrics_), *this);
  if (!front.ok()) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", FormatHostPort(options_.listen)));
  }
  front_ = *std::move(front);
  port_ = front_->port();
  return absl::OkStatus();
}

bool ProxyServer::Stop(absl::Duration grace) {
  stopping_ = true;
  bool finished = true;
  if (front_ != nullptr) finished = front_->Stop(grace);
  if (admin_ != nullptr) admin_->Stop();
  return finished;
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

std::optional<ProxyServer::CachedRead> ProxyServer::CachedReadOf(
    const IncomingRequest& incoming) const {
  if ((incoming.method != "GET" && incoming.method != "HEAD") || incoming.headers.Has("Range")) {
    return std::nullopt;
  }
  const std::string path = http::DecodePath(TargetPath(incoming.target));
  const ProxyRoute& route = MatchRoute(*config_, path);
  if (!route.cache) return std::nullopt;
  return CachedRead{&route, CoreRequestOf(incoming, path)};
}

std::optional<http::Response> ProxyServer::AnswerAtOnce(const IncomingRequest& incoming) {
  std::optional<CachedRead> read = CachedReadOf(incoming);
  if (!read.has_value()) return std::nullopt;
  std::optional<http::Response> held = cache_->HandleHeld(read->core, read->route->policy);
  if (!held.has_value()) return std::nullopt;
  return Finish(*read->route, incoming.method, {*std::move(held), "hit"});
}

std::optional<BatchedRead> ProxyServer::FetchFor(const IncomingRequest& incoming) {
  if (absl::Now() < absl::FromUnixNanos(batches_paused_until_.load(std::memory_order_relaxed))) {
    return std::nullopt;
  }
  std::optional<CachedRead> read = CachedReadOf(incoming);
  if (!read.has_value()) return std::nullopt;
  const ProxyRoute& route = *read->route;
  std::string key = cache_->HeldKey(read->core, route.policy);
  if (key.empty()) return std::nullopt;
  return BatchedRead{route.policy.cache_namespace, std::move(key), RouteIndex(route)};
}

void ProxyServer::FetchMany(const std::string& group, std::vector<std::string> keys,
                            FetchDone done) {
  MultiGetOptions options;
  options.record_lookup = false;  // The hits served count (HandleFetched), workers the rest.
  const size_t count = keys.size();
  client_->MultiGetAsync(
      group, keys, options,
      [this, count, done = std::move(done)](absl::StatusOr<std::vector<GetResult>> results) {
        std::vector<std::optional<std::string>> values(count);
        metrics_->CountLookupBatch(results.ok(), count);
        if (!results.ok()) {
          // Fail-open: the workers look each request up, within their own deadline; a second
          // wait on larderd per request is paid by one batch a second at most.
          batches_paused_until_.store(absl::ToUnixNanos(absl::Now() + absl::Seconds(1)),
                                      std::memory_order_relaxed);
          return done(std::move(values));
        }
        for (size_t i = 0; i < count && i < results->size(); ++i) {
          if ((*results)[i].found) values[i] = std::move((*results)[i].value);
        }
        done(std::move(values));
      });
}

std::optional<http::Response> ProxyServer::AnswerFetched(const IncomingRequest& incoming,
                                                         const BatchedRead& read,
                                                         const std::optional<std::string>& value) {
  if (!value.has_value()) return std::nullopt;
  const ProxyRoute& route = RouteAt(read.tag);
  const std::string path = http::DecodePath(TargetPath(incoming.target));
  std::optional<http::Response> fetched =
      cache_->HandleFetched(CoreRequestOf(incoming, path), route.policy, read.key, *value);
  if (!fetched.has_value()) return std::nullopt;
  return Finish(route, incoming.method, {*std::move(fetched), "hit"});
}

int ProxyServer::RouteIndex(const ProxyRoute& route) const {
  if (&route == &config_->default_route) return -1;
  return static_cast<int>(&route - config_->routes.data());
}

const ProxyRoute& ProxyServer::RouteAt(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= config_->routes.size()) {
    return config_->default_route;
  }
  return config_->routes[static_cast<size_t>(index)];
}

http::Response ProxyServer::Answer(IncomingRequest incoming) {
  const std::string path = http::DecodePath(TargetPath(incoming.target));
  const ProxyRoute& route = MatchRoute(*config_, path);
  const std::string method = incoming.method;
  return Finish(route, method, Dispatch(route, std::move(incoming), path));
}

http::Response ProxyServer::Finish(const ProxyRoute& route, const std::string& method,
                                   Outcome outcome) {
  if (config_->strip_tags_header && !config_->tags_header.empty()) {
    outcome.response.headers.Remove(config_->tags_header);
  }
  AppendVia(outcome.response.headers);
  metrics_->CountRequest(http::RouteLabel(route.policy), method, outcome.cache);
  return std::move(outcome.response);
}

ProxyServer::Outcome ProxyServer::Dispatch(const ProxyRoute& route, IncomingRequest incoming,
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

// ProxyServer: larder-proxy's request path. Its front end (front_end.h: event loops and workers)
// takes every request on --listen; the proxy matches its route (proxy/routes_config.h) and
// answers it:
//  - a GET or HEAD whose fresh response the near cache holds: at once, on the event loop
//    (HttpCache::HandleHeld), without a thread switch;
//  - without the near cache, a GET or HEAD of a cached route: its stored response is read in one
//    MultiGet with those of the other requests its event loop gathered while its previous batch
//    was out (--lookup-batch-keys), and a fresh hit answered on the loop (HandleFetched);
//  - a request with Range, and a safe request on a `cache: false` route: forwarded as is;
//  - any other request goes through HttpCache::Handle with the route's policy and a handler that
//    forwards it to the upstream (GET and HEAD are looked up, stored and revalidated; unsafe
//    methods are forwarded and invalidate their path on success).
// Responses go back byte for byte as the upstream or the cache produced them, minus hop-by-hop
// fields and the tags header (ProxyConfig::strip_tags_header), plus Via. The admin listener
// (admin_server.h) serves /metrics, /healthz and /readyz.
//
//   auto proxy = larder::proxy::ProxyServer::Create(options, config, registry);
//   LARDER_RETURN_IF_ERROR((*proxy)->Start());
//   ...                                    // serves on its own threads
//   (*proxy)->Stop(absl::Seconds(10));     // graceful
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "larder/http/http_cache.h"
#include "proxy/admin_server.h"
#include "proxy/forwarding.h"
#include "proxy/front_end.h"
#include "proxy/proxy_metrics.h"
#include "proxy/proxy_options.h"
#include "proxy/routes_config.h"
#include "proxy/upstream_pool.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace larder {
class Client;
}  // namespace larder

namespace larder::proxy {

class ProxyServer final : public FrontEndApp {
 public:
  // Creates the larder client (target, deadline, token file and near cache of `options`; the near
  // cache keeps the namespaces of the cached routes, the first 64), the HttpCache and the proxy's
  // metrics, all registered in `registry`. Nothing listens yet. kInvalidArgument when the client
  // cannot be created (an unreadable token file...) or the registry refuses a family.
  static absl::StatusOr<std::unique_ptr<ProxyServer>> Create(
      const ProxyOptions& options, ProxyConfig config,
      std::shared_ptr<prometheus::Registry> registry);
  // Stops (as Stop with a 10 s grace) if still serving. Destroy only after Stop returned true,
  // or not at all (exit the process): requests still in flight use the server.
  ~ProxyServer() override;
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds --admin-listen (when set) and --listen, then serves on their own threads.
  // kUnavailable naming the flag when an address cannot be bound.
  absl::Status Start();
  // The ports bound by Start (a port 0 of the options becomes a free one); -1 before, or for the
  // admin port when the admin listener is off.
  int port() const { return port_; }
  int admin_port() const { return admin_ != nullptr ? admin_->port() : -1; }

  // Stops accepting connections, lets requests in flight finish (and idle keep-alive
  // connections close) for up to `grace`, then stops the admin listener. False when requests
  // were still running after `grace`.
  bool Stop(absl::Duration grace);

  // FrontEndApp: a near-cache hit of a cached route, else nullopt; and every other request.
  std::optional<http::Response> AnswerAtOnce(const IncomingRequest& incoming) override;
  http::Response Answer(IncomingRequest incoming) override;
  // Batched lookups (without the near cache): a GET or HEAD of a cached route reads its stored
  // response with other requests' in one MultiGet of the route's namespace; a fresh hit is
  // answered on the loop (HttpCache::HandleFetched), anything else on a worker. After a failed
  // batch the loops send requests straight to the workers for a second.
  std::optional<BatchedRead> FetchFor(const IncomingRequest& incoming) override;
  void FetchMany(const std::string& group, std::vector<std::string> keys, FetchDone done) override;
  std::optional<http::Response> AnswerFetched(const IncomingRequest& incoming,
                                              const BatchedRead& read,
                                              const std::optional<std::string>& value) override;

  // /readyz: OK when the upstream accepted a TCP connection at the last check (made at most
  // once a second) and the proxy is not stopping. larderd is not consulted: the proxy fails
  // open without it.
  absl::Status Readiness();

 private:
  explicit ProxyServer(const ProxyOptions& options) : options_(options) {}
  // A response and the `cache` label it counts under in larder_proxy_requests_total.
  struct Outcome;

  Outcome Dispatch(const ProxyRoute& route, IncomingRequest incoming, const std::string& path);
  // A GET or HEAD without Range of a cached route: its route and the request as the HTTP layer
  // sees it; what AnswerAtOnce and FetchFor both start from.
  struct CachedRead {
    const ProxyRoute* route = nullptr;
    http::Request core;
  };
  std::optional<CachedRead> CachedReadOf(const IncomingRequest& incoming) const;
  // A route's index in config_->routes (-1: the default route), and back.
  int RouteIndex(const ProxyRoute& route) const;
  const ProxyRoute& RouteAt(int index) const;
  // Takes the tags header out (strip_tags_header), adds Via, counts the request.
  http::Response Finish(const ProxyRoute& route, const std::string& method, Outcome outcome);

  const ProxyOptions options_;
  std::shared_ptr<const ProxyConfig> config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ProxyMetrics> metrics_;
  std::shared_ptr<UpstreamPool> pool_;
  std::shared_ptr<Client> client_;
  std::unique_ptr<http::HttpCache> cache_;
  std::unique_ptr<AdminServer> admin_;
  // Last: stopped and destroyed first, while everything its requests use still exists.
  std::unique_ptr<FrontEnd> front_;
  int port_ = -1;
  std::atomic<bool> stopping_{false};
  // Unix nanoseconds before which no request is batched (after a failed batch).
  std::atomic<int64_t> batches_paused_until_{0};

  absl::Mutex readiness_mutex_;
  absl::Time checked_at_ ABSL_GUARDED_BY(readiness_mutex_) = absl::InfinitePast();
  absl::Status last_readiness_ ABSL_GUARDED_BY(readiness_mutex_);
};

}  // namespace larder::proxy

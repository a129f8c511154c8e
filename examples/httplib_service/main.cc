// httplib_service: an example web service caching its responses in larder.
//
//   httplib_service --port=8080 --larder=127.0.0.1:50051
//   curl -i localhost:8080/items/1          # X-Cache: MISS, then HIT
//   httplib_service --near_cache_bytes=67108864   # hits served from this process, coherently
//
// Prints "httplib_service ready port=PORT" once it accepts connections.
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "larder/client.h"
#include "larder/http/larder_response_store.h"
#include "larder/httplib/cached.h"
#include "prometheus/registry.h"
#include "routes.h"

ABSL_FLAG(int, port, 8080, "TCP port to listen on (0 picks a free one)");
ABSL_FLAG(std::string, larder, "127.0.0.1:50051", "larderd target, host:port or dns:///name");
ABSL_FLAG(absl::Duration, larder_deadline, absl::Milliseconds(50),
          "how long one larder call may take before the route is served uncached");
ABSL_FLAG(std::string, host, "127.0.0.1", "address to listen on (0.0.0.0 for every interface)");
ABSL_FLAG(int, threads, 16, "HTTP worker threads");
ABSL_FLAG(int64_t, near_cache_bytes, 0,
          "keep hot responses in this process, coherent with larder through its Watch stream, "
          "up to this many bytes (0: every lookup asks larder)");

namespace {

// The larder client, connected now rather than on the first request. An unreachable larder is
// not fatal: the routes are then served uncached until it answers.
absl::StatusOr<std::shared_ptr<larder::Client>> ConnectLarder(
    std::shared_ptr<prometheus::Registry> registry) {
  larder::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_larder);
  options.metrics_registry = std::move(registry);
  options.deadline = absl::GetFlag(FLAGS_larder_deadline);
  if (const int64_t near_bytes = absl::GetFlag(FLAGS_near_cache_bytes); near_bytes > 0) {
    options.near_cache.namespaces = larder::examples::RouteNamespaces();
    options.near_cache.max_bytes = near_bytes;
  }
  auto client = larder::Client::Create(options);
  if (!client.ok()) return client.status();
  if (absl::Status reachable = (*client)->Stats().status(); !reachable.ok()) {
    std::cerr << "httplib_service: larder unreachable, serving uncached until it is: " << reachable
              << "\n";
  }
  return client;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for deadlock cycles under one global lock: a sixth of a
  // near-cache hit's instructions (docs/performance.md). A service in production turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  auto registry = std::make_shared<prometheus::Registry>();
  auto client = ConnectLarder(registry);
  if (!client.ok()) {
    std::cerr << "httplib_service: cannot create the larder client: " << client.status() << "\n";
    return 1;
  }
  larder::http::HttpCacheOptions cache_options;
  cache_options.metrics_registry = registry;
  auto cache =
      larder::http::HttpCache::Create(larder::http::NewLarderResponseStore(*client), cache_options);
  if (!cache.ok()) {
    std::cerr << "httplib_service: cannot create the HTTP cache: " << cache.status() << "\n";
    return 1;
  }

  httplib::Server server;
  larder::httplib::ServerOptions server_options;
  server_options.threads = static_cast<size_t>(absl::GetFlag(FLAGS_threads));
  larder::httplib::ConfigureServer(server, server_options);
  larder::examples::ServiceState state;
  larder::examples::AddRoutes(server, **cache, state, registry);

  const int port = larder::httplib::Bind(server, absl::GetFlag(FLAGS_host),
                                         absl::GetFlag(FLAGS_port), server_options);
  if (port <= 0) {
    std::cerr << "httplib_service: cannot listen on port " << absl::GetFlag(FLAGS_port) << "\n";
    return 1;
  }
  std::cout << "httplib_service ready port=" << port << std::endl;
  return server.listen_after_bind() ? 0 : 1;
}

// The example service's routes: an items store with updates, search, a localized greeting, a
// route behind an API key, a flaky route, a slow route, and routes showing what is never stored.
// Every JSON body carries "render": how many times any handler really ran.
//
//   ServiceState state;
//   AddRoutes(server, *cache, state, registry);
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "larder/http/http_cache.h"

namespace prometheus {
class Registry;
}

namespace larder::examples {

// Thread-safe.
struct ServiceState {
  std::atomic<int> renders{0};
  // "ok", "error" (handlers answer 500) or "throw" (handlers throw).
  absl::Mutex mutex;
  std::string flaky_mode ABSL_GUARDED_BY(mutex) = "ok";
  std::map<std::string, std::string> items ABSL_GUARDED_BY(mutex) = {
      {"1", R"({"name":"tea"})"}, {"2", R"({"name":"coffee"})"}, {"3", R"({"name":"cocoa"})"}};
};

// The larder namespaces the routes cache in (for the near cache).
std::vector<std::string> RouteNamespaces();

// Registers every route on `server`. `cache`, `state` and `registry` must outlive it.
void AddRoutes(::httplib::Server& server, http::HttpCache& cache, ServiceState& state,
               std::shared_ptr<prometheus::Registry> registry);

}  // namespace larder::examples

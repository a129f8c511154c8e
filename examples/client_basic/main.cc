// client_basic: caches a slow user lookup in larder with larder::Cached, shows a miss, a hit and
// an invalidation, and serves the client's metrics on /metrics.
//
//   larderd &                                   # listens on 127.0.0.1:50051
//   client_basic 127.0.0.1:50051 127.0.0.1:9465
//   curl -s 127.0.0.1:9465/metrics | grep larder_client_requests_total
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "larder/coders/json.h"
#include "nlohmann/json.hpp"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace {

struct User {
  int64_t id = 0;
  std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, id, name)

// The expensive call worth caching.
User LoadUserFromDatabase(int64_t id) {
  absl::SleepFor(absl::Milliseconds(200));
  return User{id, "user-" + std::to_string(id)};
}

// Times one call of `get_user`.
template <typename GetUser>
void Show(const char* label, const GetUser& get_user, int64_t id) {
  const absl::Time start = absl::Now();
  const User user = get_user(id);
  std::cout << label << ": " << user.name << " in " << absl::Now() - start << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  larder::ClientOptions options;
  options.target = argc > 1 ? argv[1] : "127.0.0.1:50051";
  absl::StatusOr<std::shared_ptr<larder::Client>> client = larder::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "client_basic: " << client.status() << "\n";
    return 1;
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  try {  // prometheus-cpp reports a busy port by throwing.
    exposer = std::make_unique<prometheus::Exposer>(argc > 2 ? argv[2] : "127.0.0.1:9465");
    exposer->RegisterCollectable((*client)->metrics_registry());
  } catch (const std::exception& e) {
    std::cerr << "client_basic: no /metrics: " << e.what() << "\n";
  }

  larder::CachedOptions cached;
  cached.namespace_name = "users";
  cached.function_name = "get_user";
  cached.ttl = absl::Minutes(5);
  cached.stale_while_revalidate = absl::Minutes(1);
  auto get_user = larder::Cached(*client, cached, LoadUserFromDatabase);  // User(int64_t)

  Show("first call (miss, or error if larderd is down)", get_user, 42);
  Show("second call (hit)", get_user, 42);
  // After the user changes, a writer drops the cached result; the same key from anywhere:
  //   (*client)->Delete("users", *larder::MakeKey("get_user", int64_t{42}));
  if (absl::Status dropped = get_user.Invalidate(42); !dropped.ok()) {
    std::cerr << "invalidate: " << dropped << "\n";
  }
  Show("after invalidation (miss)", get_user, 42);
  return 0;
}

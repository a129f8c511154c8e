// UpstreamPool: the keep-alive connections to the upstream service. A cpp-httplib Client runs its
// requests one at a time on one socket, so each exchange checks one Client out, and at most
// `max_connections` exist; a request finding them all busy waits for one, within its timeout.
//
//   UpstreamPoolOptions options;
//   options.upstream = {"127.0.0.1", 8000};
//   UpstreamPool pool(options, metrics.get());
//   http::Response response = pool.Forward(upstream_request, "items", &failure);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/common/log_rate_limiter.h"
#include "larder/http/response.h"
#include "larder/httplib/cached.h"  // Brings <httplib.h> with the project's CPPHTTPLIB_* macros.
#include "proxy/forwarding.h"
#include "proxy/proxy_metrics.h"
#include "proxy/proxy_options.h"

namespace larder::proxy {

struct UpstreamPoolOptions {
  // The upstream's address. Default: 127.0.0.1:8000.
  HostPort upstream{"127.0.0.1", 8000};
  // Clients (connections) at most. Default: 64.
  int max_connections = 64;
  // One connection attempt at most. Default: 2 s.
  absl::Duration connect_timeout = absl::Seconds(2);
  // One exchange at most: waiting for a Client, connecting, sending and reading the whole
  // response. Default: 30 s.
  absl::Duration timeout = absl::Seconds(30);
  // The largest response body read; a larger one fails with kTooLarge. Default: 64 MiB.
  int64_t max_response_body = int64_t{64} << 20;
};

// The outcome of one exchange.
struct UpstreamResult {
  // kNone when `response` holds the upstream's response.
  UpstreamFailure failure = UpstreamFailure::kNone;
  // The upstream's status, fields without the hop-by-hop ones, and body.
  http::Response response;
  // From the call to its end, waiting for a Client included.
  absl::Duration elapsed;
  // cpp-httplib's error name when it failed, for logs.
  std::string detail;
};

// Thread-safe.
class UpstreamPool {
 public:
  // `metrics` (may be null) must outlive the pool.
  UpstreamPool(UpstreamPoolOptions options, ProxyMetrics* metrics);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Sends `request` and reads the response. A GET, HEAD or OPTIONS that failed on a reused
  // keep-alive connection before any response (the upstream closed it meanwhile) is sent once
  // more on a new one. A 304 is read without its (absent) body, and its connection closed:
  // cpp-httplib would otherwise wait for a body to end. Cost: the response's size.
  UpstreamResult Send(const UpstreamRequest& request);

  // Send, with the round trip observed in larder_proxy_upstream_seconds{route}, a failure
  // counted in larder_proxy_upstream_errors_total, logged (one line per reason per minute) and
  // answered with FailureResponse. `failure` (may be null) receives the failure.
  http::Response Forward(const UpstreamRequest& request, absl::string_view route,
                         UpstreamFailure* failure);

  // OK when a new TCP connection to the upstream was accepted within the connect timeout;
  // kUnavailable naming the upstream and the error otherwise. Uses no pooled connection.
  absl::Status CheckConnect() const;

  const UpstreamPoolOptions& options() const { return options_; }

 private:
  class Lease;
  struct Attempt;
  std::unique_ptr<::httplib::Client> Checkout(absl::Time deadline);
  void Return(std::unique_ptr<::httplib::Client> client);
  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::unique_ptr<::httplib::Client> NewClient() const;
  Attempt Exchange(::httplib::Client& client, const UpstreamRequest& request,
                   absl::Time deadline) const;

  const UpstreamPoolOptions options_;
  ProxyMetrics* const metrics_;
  LogRateLimiter log_limiter_;
  absl::Mutex mutex_;
  std::vector<std::unique_ptr<::httplib::Client>> idle_ ABSL_GUARDED_BY(mutex_);
  int created_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::proxy

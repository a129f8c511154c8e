// ProxyOptions: everything larder-proxy is configured with, as a plain struct, and how its flags
// and LARDER_PROXY_* environment variables become one: a flag given on the command line wins,
// then the environment variable, then the default below. proxy/main.cc defines the flags; the
// rules and checks live here so that tests run them without a process.
//
//   larder::proxy::FlagValues command_line = {{"upstream", "http://127.0.0.1:9000"}};
//   larder::proxy::FlagValues environment = {{"LARDER_PROXY_THREADS", "16"}};
//   auto options = larder::proxy::ResolveProxyOptions(command_line, environment);
//   // options->upstream.port == 9000, options->threads == 16
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::proxy {

// A TCP endpoint. `host` is a name or an address, IPv6 without brackets.
struct HostPort {
  std::string host;
  int port = 0;
  friend bool operator==(const HostPort& a, const HostPort& b) {
    return a.host == b.host && a.port == b.port;
  }
};

struct ProxyOptions {
  // Where clients connect (--listen); port 0 picks a free one. Default: 127.0.0.1:8080.
  HostPort listen{"127.0.0.1", 8080};
  // The service forwarded to (--upstream, http://host[:port], port 80 when omitted).
  // Default: 127.0.0.1:8000.
  HostPort upstream{"127.0.0.1", 8000};
  // larderd's gRPC target (--larder), any gRPC target string. Default: "127.0.0.1:50051".
  std::string larder = "127.0.0.1:50051";
  // The routes YAML (--config, proxy/routes_config.h). Default: empty: DefaultProxyConfig().
  std::string config;
  // Where /metrics, /healthz and /readyz are served (--admin-listen). Default: 127.0.0.1:9465;
  // nullopt (an empty flag) turns the admin listener off.
  std::optional<HostPort> admin_listen = HostPort{"127.0.0.1", 9465};
  // Worker threads answering the requests that may wait on larderd or the upstream (--threads),
  // 1-4096. Default: 64.
  int threads = 64;
  // Event loop threads reading requests and answering near-cache hits (--event-loops), 0-64;
  // 0 means one per core (at most 16). Default: 0.
  int event_loops = 0;
  // Distinct keys an event loop reads from larderd in one batch at most (--lookup-batch-keys),
  // 0-1000: the requests it gathers while its batch is out are looked up together in one
  // MultiGet and their fresh hits answered on the loop; 0 looks each request up on its worker.
  // Not used with the near cache (its Gets fill it). Default: 64.
  int lookup_batch_keys = 64;
  // Keep-alive connections to the upstream at most (--upstream-connections), 1-4096; a request
  // finding all of them busy waits for one within --upstream-timeout. Default: 64.
  int upstream_connections = 64;
  // How long connecting to the upstream may take (--upstream-connect-timeout). Default: 2 s.
  absl::Duration upstream_connect_timeout = absl::Seconds(2);
  // How long one upstream exchange may take, waiting for a connection and reading the whole
  // response included (--upstream-timeout). Default: 30 s.
  absl::Duration upstream_timeout = absl::Seconds(30);
  // How long one larder call may take (--larder-deadline, ClientOptions::deadline); past it the
  // request is served by the upstream (fail-open). Default: 50 ms.
  absl::Duration larder_deadline = absl::Milliseconds(50);
  // The largest request body forwarded (--max-request-body); larger ones are answered 413 and
  // never reach the upstream. Default: 8 MiB.
  int64_t max_request_body = int64_t{8} << 20;
  // The largest upstream response body (--max-response-body), at least 1; larger ones are
  // answered 502 and counted (reason too_large). Default: 64 MiB.
  int64_t max_response_body = int64_t{64} << 20;
  // The most bytes of a request head (--max-header-bytes): the request line and header
  // fields with their line ends, at least 1 KiB; more are answered 431. Default: 64 KiB.
  int64_t max_header_bytes = int64_t{64} << 10;
  // Bytes of the SDK's near cache for the routes' namespaces (--near-cache-bytes); 0 turns it
  // off, else at least 64 KiB (NearCacheOptions::max_bytes). Default: 0.
  int64_t near_cache_bytes = 0;
  // A file holding larderd's bearer token (--auth-token-file, ClientOptions::auth_token_file).
  // Default: empty (none; $LARDER_AUTH_TOKEN still applies).
  std::string auth_token_file;
};

// Flag values by flag name (underscores: "upstream_timeout"), or environment values by variable
// name ("LARDER_PROXY_UPSTREAM_TIMEOUT").
using FlagValues = std::map<std::string, std::string>;

// Every flag of ProxyOptions, by its underscore name, in the order --help lists them.
const std::vector<std::string>& ProxyFlagNames();

// "LARDER_PROXY_" + the flag name in upper case: upstream_timeout ->
// LARDER_PROXY_UPSTREAM_TIMEOUT.
std::string EnvironmentVariableFor(absl::string_view flag_name);

// The default of a flag as text that parses back to it ("30s", "8MiB", "127.0.0.1:8080"); empty
// for an unknown name.
std::string DefaultFlagText(absl::string_view flag_name);

// The options of `command_line` (flags given explicitly) over `environment` (variables set) over
// the defaults. kInvalidArgument with one line naming the flag (--upstream-timeout) or the
// variable and the problem: "--upstream: must be http://host:port (no path), got
// \"https://api:8000\"". A name in `command_line` that is no flag is refused; other variables in
// `environment` are ignored. O(number of flags).
absl::StatusOr<ProxyOptions> ResolveProxyOptions(const FlagValues& command_line,
                                                 const FlagValues& environment);

// "127.0.0.1:8080", or "[::1]:8080" for an IPv6 address.
std::string FormatHostPort(const HostPort& endpoint);

// "http://127.0.0.1:8000".
std::string UpstreamUrl(const ProxyOptions& options);

// The one start-up line (without newline), with the ports actually bound (admin_port unused when
// the admin listener is off):
// "larder-proxy: listening on 127.0.0.1:8080, forwarding to http://127.0.0.1:8000, caching in
// larder at 127.0.0.1:50051 (3 routes from routes.yaml); admin on 127.0.0.1:9465".
std::string StartupLine(const ProxyOptions& options, int port, int admin_port, size_t routes);

}  // namespace larder::proxy

// ProxyProcess: the real larder-proxy binary started on free loopback ports for an end-to-end
// test; UpstreamProcess: the scriptable upstream service it forwards to
// (tests/proxy/upstream_server.py, whose responses are driven by the request's path and query).
//
//   auto upstream = UpstreamProcess::Start();
//   auto proxy = ProxyProcess::Start(
//       ProxyProcessOptionsFor((*upstream)->url(), larderd->grpc_address()));
//   httplib::Result r = (*proxy)->Get("/page?cc=max-age%3D60");
//   int renders = (*upstream)->Renders("/page");
//   double hits = (*proxy)->Metric("larder_proxy_requests_total", {{"cache", "hit"}});
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"

namespace larder::testing {

struct ProxyProcessOptions {
  // The upstream, "http://127.0.0.1:PORT" (--upstream). Default: empty (required).
  std::string upstream;
  // larderd's gRPC target (--larder). Default: empty (required).
  std::string larder;
  // Routes YAML, written to a temporary file passed as --config. Default: empty: no --config.
  std::string config_yaml;
  // Whether --admin-listen gets a free port (Start then waits for its /healthz); false passes
  // --admin-listen= (off) and waits for the listener alone. Default: true.
  bool admin = true;
  // More flags, e.g. "--max-request-body=1KiB". Default: none.
  std::vector<std::string> flags;
  // More environment ("NAME=value"). Default: none.
  std::vector<std::string> env;
  // How long Start waits for the proxy to serve. Default: 20 s.
  absl::Duration ready_timeout = absl::Seconds(20);
};

// Options for `upstream` and `larder` with a routes config (empty: none) and more flags.
ProxyProcessOptions ProxyProcessOptionsFor(std::string upstream, std::string larder,
                                           std::string config_yaml = "",
                                           std::vector<std::string> flags = {});

class ProxyProcess {
 public:
  // Runs larder-proxy with --listen and --admin-listen on free loopback ports, --upstream,
  // --larder, --config (when config_yaml is set) and the extra flags, and waits until /healthz
  // answers 200 and the listener accepts connections. A start lost to a port taken meanwhile is
  // retried on other ports. kUnavailable with the end of its standard error when it exits first,
  // kDeadlineExceeded after ready_timeout. Also makes SIGPIPE harmless in the test process, whose
  // clients may write to connections the proxy closed.
  static absl::StatusOr<std::unique_ptr<ProxyProcess>> Start(const ProxyProcessOptions& options);
  ~ProxyProcess();  // Stop()s the process and removes its temporary files.

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  // "127.0.0.1:PORT" of the listener.
  std::string address() const;

  // A new client to the listener, keep-alive off (each call its own connection), query strings
  // sent as written (no re-encoding), 10 s timeouts.
  ::httplib::Client Client() const;
  ::httplib::Result Get(const std::string& target, const ::httplib::Headers& headers = {}) const;
  ::httplib::Result Head(const std::string& target, const ::httplib::Headers& headers = {}) const;
  // GET on the admin listener (/metrics, /healthz, /readyz).
  ::httplib::Result AdminGet(const std::string& target) const;
  // The sum of the samples of `name` (a counter or gauge; for a histogram pass e.g.
  // "x_count") whose labels include every pair of `labels`; 0 when none, -1 when /metrics
  // cannot be read.
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {});

  // SIGTERM, then waits (SIGKILL after `grace`); returns the wait status.
  int Stop(absl::Duration grace = absl::Seconds(15));
  ChildProcess& process() { return *process_; }
  std::string LogTail() const { return process_->LogTail(); }

 private:
  ProxyProcess() = default;
  // One attempt on fresh ports; kAborted when the ports were taken meanwhile.
  static absl::StatusOr<std::unique_ptr<ProxyProcess>> TryStart(const ProxyProcessOptions& options,
                                                                const std::string& config_path);
  absl::Status WaitUntilServing(absl::Duration timeout, bool admin);

  std::unique_ptr<ChildProcess> process_;
  std::string temp_dir_;
  int port_ = 0;
  int admin_port_ = 0;
};

// How a run of larder-proxy that was expected to end ended.
struct ProxyExit {
  // The exit code, or 128 + the signal number when a signal ended it.
  int exit_code = -1;
  std::string standard_output;
  std::string standard_error;
};

// Runs larder-proxy with exactly `args` (after argv[0]) and extra `env` until it exits, at most
// `timeout` (then kDeadlineExceeded, and the process is killed).
absl::StatusOr<ProxyExit> RunProxyToExit(const std::vector<std::string>& args,
                                         const std::vector<std::string>& env = {},
                                         absl::Duration timeout = absl::Seconds(20));

// The larder-proxy binary under test: $LARDER_PROXY_BINARY, else the build's own.
std::string ProxyBinaryPath();

// Sends `request` as is to 127.0.0.1:`port` and reads one response: until its Content-Length
// or chunked framing says it is whole, or the peer closes the connection (not for HEAD). The raw
// response bytes; kDeadlineExceeded after `timeout`.
absl::StatusOr<std::string> SendRaw(int port, const std::string& request,
                                    absl::Duration timeout = absl::Seconds(10));

// "path?name=value&..." with every value percent-encoded, for upstream_server.py's scripted
// responses: UpstreamTarget("/p", {{"cc", "max-age=60"}, {"etag", "\"v1\""}}).
std::string UpstreamTarget(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& params);

// The body upstream_server.py sends for bytes=`size`: byte i is (7i + 3) % 256.
std::string UpstreamBytes(size_t size);

class UpstreamProcess {
 public:
  // Starts tests/proxy/upstream_server.py on `port` (0: a free one) and reads its PORT line.
  static absl::StatusOr<std::unique_ptr<UpstreamProcess>> Start(int port = 0);

  int port() const { return port_; }
  // "http://127.0.0.1:PORT", the proxy's --upstream.
  std::string url() const;
  // How many requests reached `path` (any method, any query); -1 when the upstream is down.
  int Renders(const std::string& path) const;
  // The requests that reached `path`, as the JSON list upstream_server.py keeps.
  absl::StatusOr<std::string> Requests(const std::string& path) const;
  // The value of header `name` (case-insensitive; several joined by ", ") in the last request
  // that reached `path`: "" when it had none, nullopt when no request did.
  std::optional<std::string> LastRequestHeader(const std::string& path,
                                               const std::string& name) const;
  // From now on, requests to `path` behave as if their query also had `query` ("status=500").
  absl::Status Override(const std::string& path, const std::string& query) const;
  // Forgets counts, requests and overrides.
  absl::Status Reset() const;

  int Stop() { return process_->Stop(); }
  ChildProcess& process() { return *process_; }

 private:
  UpstreamProcess() = default;
  absl::StatusOr<std::string> Admin(const std::string& target) const;

  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// A larderd, an upstream and a larder-proxy between them: what an end-to-end suite starts once.
//
//   auto stack = ProxyStack::Start(kRoutesYaml, {"--larder-deadline=2s"});
//   (*stack)->proxy->Get("/page");
struct ProxyStack {
  // Starts larderd (with `larderd_args`), the upstream, then the proxy between them with the
  // routes `config_yaml` (empty: none) and `flags`.
  static absl::StatusOr<std::unique_ptr<ProxyStack>> Start(
      const std::string& config_yaml, const std::vector<std::string>& flags,
      const std::vector<std::string>& larderd_args = {});

  // Declared in this order so the proxy stops first.
  std::unique_ptr<LarderdProcess> larderd;
  std::unique_ptr<UpstreamProcess> upstream;
  std::unique_ptr<ProxyProcess> proxy;
};

}  // namespace larder::testing

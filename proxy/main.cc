// larder-proxy: flags (and LARDER_PROXY_* environment variables) -> ProxyOptions -> ProxyServer.
// Serves until SIGTERM or SIGINT, then stops gracefully (10 s at most) and exits 0. A bad flag,
// variable or config file is one line on standard error and exit status 2.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/registry.h"
#include "proxy/proxy_options.h"
#include "proxy/proxy_server.h"
#include "proxy/routes_config.h"

#ifndef LARDER_VERSION
#define LARDER_VERSION "dev"
#endif

using larder::proxy::DefaultFlagText;

// Every flag is text here: proxy_options.cc parses and checks them, so that a bad value is
// reported the same way from a flag and from its environment variable.
ABSL_FLAG(std::string, listen, DefaultFlagText("listen"),
          "host:port where clients connect (port 0: a free one)");
ABSL_FLAG(std::string, upstream, DefaultFlagText("upstream"),
          "the service forwarded to: http://host:port, no path");
ABSL_FLAG(std::string, larder, DefaultFlagText("larder"),
          "larderd's gRPC target, host:port or dns:///name:port");
ABSL_FLAG(std::string, config, DefaultFlagText("config"),
          "routes YAML (docs/proxy.md); empty caches every path by its response headers in "
          "namespace http");
ABSL_FLAG(std::string, admin_listen, DefaultFlagText("admin_listen"),
          "host:port serving /metrics, /healthz and /readyz; empty turns it off");
ABSL_FLAG(std::string, threads, DefaultFlagText("threads"),
          "worker threads answering requests that wait on larderd or the upstream");
ABSL_FLAG(std::string, event_loops, DefaultFlagText("event_loops"),
          "event loop threads reading requests and answering near-cache hits; 0: one per core");
ABSL_FLAG(std::string, lookup_batch_keys, DefaultFlagText("lookup_batch_keys"),
          "keys an event loop looks up in larderd in one batch at most; 0: each on its worker");
ABSL_FLAG(std::string, upstream_connections, DefaultFlagText("upstream_connections"),
          "keep-alive connections to the upstream at most");
ABSL_FLAG(std::string, upstream_connect_timeout, DefaultFlagText("upstream_connect_timeout"),
          "how long connecting to the upstream may take");
ABSL_FLAG(std::string, upstream_timeout, DefaultFlagText("upstream_timeout"),
          "how long a whole upstream exchange may take (then 504)");
ABSL_FLAG(std::string, larder_deadline, DefaultFlagText("larder_deadline"),
          "how long one larder call may take; past it the upstream answers (fail-open)");
ABSL_FLAG(std::string, max_request_body, DefaultFlagText("max_request_body"),
          "largest request body forwarded; larger ones are answered 413");
ABSL_FLAG(std::string, max_response_body, DefaultFlagText("max_response_body"),
          "largest upstream response body; larger ones are answered 502");
ABSL_FLAG(std::string, max_header_bytes, DefaultFlagText("max_header_bytes"),
          "largest request head (request line and header fields); larger ones are answered 431");
ABSL_FLAG(std::string, near_cache_bytes, DefaultFlagText("near_cache_bytes"),
          "bytes of hot responses kept in this process, coherent with larder; 0 turns it off");
ABSL_FLAG(std::string, auth_token_file, DefaultFlagText("auth_token_file"),
          "file holding larderd's bearer token (re-read when it changes)");

namespace larder::proxy {
namespace {

[[noreturn]] void Fail(absl::string_view message) {
  std::cerr << "larder-proxy: " << message << std::endl;
  std::exit(2);
}

void PrintHelp() {
  std::cout << "larder-proxy " << LARDER_VERSION
            << ": an HTTP reverse proxy caching an upstream's responses in larder.\n"
               "Usage: larder-proxy [--flag=value...]. Flags take dashes or underscores; each "
               "also reads LARDER_PROXY_<FLAG>, and the flag wins.\n\n";
  for (const std::string& name : ProxyFlagNames()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::cout << "  --" << absl::StrReplaceAll(name, {{"_", "-"}}) << "=" << flag->DefaultValue()
              << "\n      " << flag->Help() << " (" << EnvironmentVariableFor(name) << ")\n";
  }
  std::cout << "  --help, --version\n";
}

bool IsProxyFlag(const std::string& name) {
  for (const std::string& flag : ProxyFlagNames()) {
    if (flag == name) return true;
  }
  return false;
}

// Checks the command line before absl parses it, so that every mistake is one line and exit
// status 2; answers --help and --version. Returns the normalized arguments (--some_flag=value)
// and fills `given` with the names of the flags present.
std::vector<std::string> CheckArguments(int argc, char** argv, std::vector<std::string>& given) {
  std::vector<std::string> normalized = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (!absl::StartsWith(argument, "-") || argument == "-" || argument == "--") {
      Fail(absl::StrCat("unexpected argument \"", argument, "\" (flags are --name=value)"));
    }
    const std::string body = argument.substr(argument[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name = absl::StrReplaceAll(body.substr(0, equals), {{"-", "_"}});
    if (name == "help" || name == "h" || name == "helpfull" || name == "helpshort") {
      PrintHelp();
      std::exit(0);
    }
    if (name == "version") {
      std::cout << "larder-proxy " << LARDER_VERSION << std::endl;
      std::exit(0);
    }
    if (!IsProxyFlag(name)) {
      Fail(absl::StrCat("unknown flag --", absl::StrReplaceAll(name, {{"_", "-"}}),
                        " (see --help)"));
    }
    std::string value;
    if (equals != std::string::npos) {
      value = body.substr(equals + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Fail(absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}), ": missing value"));
    }
    normalized.push_back(absl::StrCat("--", name, "=", value));
    given.push_back(name);
  }
  return normalized;
}

ProxyOptions OptionsFromCommandLine(int argc, char** argv) {
  std::vector<std::string> given;
  std::vector<std::string> arguments = CheckArguments(argc, argv, given);
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  FlagValues command_line;
  for (const std::string& name : given) {
    command_line[name] = absl::FindCommandLineFlag(name)->CurrentValue();
  }
  FlagValues environment;
  for (const std::string& name : ProxyFlagNames()) {
    const std::string variable = EnvironmentVariableFor(name);
    if (const char* value = std::getenv(variable.c_str())) environment[variable] = value;
  }
  absl::StatusOr<ProxyOptions> options = ResolveProxyOptions(command_line, environment);
  if (!options.ok()) Fail(options.status().message());
  return *std::move(options);
}

int Run(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for deadlock cycles under one global lock: costly on every
  // request (docs/performance.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const ProxyOptions options = OptionsFromCommandLine(argc, argv);
  absl::StatusOr<ProxyConfig> config =
      options.config.empty() ? DefaultProxyConfig() : LoadProxyConfig(options.config);
  if (!config.ok()) Fail(absl::StrCat("--config: ", config.status().message()));
  const size_t routes = config->routes.size();

  sigset_t signals;  // Blocked before any thread starts, so only sigwait sees them.
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto proxy =
      ProxyServer::Create(options, *std::move(config), std::make_shared<prometheus::Registry>());
  if (!proxy.ok()) Fail(proxy.status().message());
  if (absl::Status started = (*proxy)->Start(); !started.ok()) Fail(started.message());
  std::cerr << StartupLine(options, (*proxy)->port(), (*proxy)->admin_port(), routes) << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "larder-proxy: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", finishing requests in flight" << std::endl;
  if (!(*proxy)->Stop(absl::Seconds(10))) {
    std::cerr << "larder-proxy: requests still in flight after 10s, exiting" << std::endl;
    std::_Exit(0);  // Running requests use the server: it is not destroyed under them.
  }
  std::cerr << "larder-proxy: stopped" << std::endl;
  return 0;
}

}  // namespace
}  // namespace larder::proxy

int main(int argc, char** argv) { return larder::proxy::Run(argc, argv); }

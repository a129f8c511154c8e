#include "server/server.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/server_builder.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"
#include "server/log/log.h"
#include "server/metrics/exposer_stop.h"
#include "server/storage/change_reporting_engine.h"

#ifndef LARDER_VERSION
#define LARDER_VERSION "dev"
#endif

namespace larder::server {
namespace {

constexpr char kServiceName[] = "larder.v1.Cache";
// Removes gRPC's reflection plugin, which registers itself for every server once linked.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                                    return plugin->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

// Engine Stats calls one round of forgetting idle namespaces may make.
constexpr size_t kIdleNamespaceChecks = 64;

// "host:port" with the port replaced by `port`.
std::string WithPort(absl::string_view address, int port) {
  const size_t colon = address.rfind(':');
  return absl::StrCat(address.substr(0, colon), ":", port);
}

absl::Status CannotListen(absl::string_view address, absl::string_view flag,
                          absl::string_view why) {
  return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (", flag, "): ", why));
}

// "address in use" for EADDRINUSE: strerror in lower case.
std::string ErrnoText(int error) {
  if (error == EADDRINUSE) return "address in use";
  std::string text = strerror(error);
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

// Binds each resolved address as a server would (SO_REUSEADDR) and lets go. The errno that
// stops a server listening: in use or forbidden on any address, or whatever failed when none
// could be bound; 0 when it can listen.
int BindError(const addrinfo* found) {
  int first = 0;
  bool bound = false;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const int error = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    close(fd);
    if (error == EADDRINUSE || error == EACCES) return error;
    bound = bound || error == 0;
    if (first == 0) first = error;
  }
  return bound ? 0 : first;
}

// Checks that `address` ("host:port") can be listened on, so that one that cannot is one clear
// line before gRPC or the metrics server would log their own. Port 0 always can.
absl::Status CheckCanListen(absl::string_view address, absl::string_view flag) {
  if (address.empty()) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  std::string host(address.substr(0, colon));
  const std::string port(address.substr(colon + 1));
  if (port == "0") return absl::OkStatus();
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int resolved =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      resolved != 0) {
    return CannotListen(address, flag, absl::StrCat("cannot resolve: ", gai_strerror(resolved)));
  }
  const int error = BindError(found);
  freeaddrinfo(found);
  return error == 0 ? absl::OkStatus() : CannotListen(address, flag, ErrnoText(error));
}

// After about max_connection_age (gRPC adds jitter) a connection is sent GOAWAY, so clients
// reconnect and spread over replicas added since. Zero leaves gRPC's default: never.
void SetMaxConnectionAge(grpc::ServerBuilder& builder, const ServerOptions& options) {
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
  }
  if (options.max_connection_age_grace > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age_grace)));
  }
}

absl::Status CheckAddresses(const ServerOptions& options) {
  LARDER_RETURN_IF_ERROR(CheckCanListen(options.listen, "--listen"));
  LARDER_RETURN_IF_ERROR(CheckCanListen(options.metrics_address, "--metrics-address"));
  return CheckCanListen(options.health_listen, "--health-listen");
}

}  // namespace

absl::StatusOr<std::unique_ptr<LarderServer>> LarderServer::Start(
    const ServerOptions& options, const storage::EngineRegistry& registry, const Clock& clock) {
  LARDER_RETURN_IF_ERROR(ValidateServerOptions(options));
  LARDER_RETURN_IF_ERROR(CheckAddresses(options));
  auto server = std::unique_ptr<LarderServer>(new LarderServer(options));
  server->watch_hub_ = std::make_unique<WatchHub>(options.watch);
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<storage::StorageEngine> engine,
                          registry.Create(options.engine, options.engine_options, clock));
  server->engine_ = storage::WithChangeReports(std::move(engine), *server->watch_hub_);
  server->handler_ = std::make_unique<CacheHandler>(*server->engine_, clock, options.handler);
  if (server->engine_->blocking()) {
    server->executor_ =
        std::make_unique<BoundedExecutor>(options.storage_threads, options.storage_queue);
  }
  server->namespace_ops_ =
      std::make_unique<BoundedExecutor>(options.namespace_op_threads, options.namespace_op_queue);
  if (!options.auth_tokens_file.empty()) {
    LARDER_ASSIGN_OR_RETURN(
        server->authorizer_,
        auth::Authorizer::Create({options.auth_tokens_file, options.auth_tls_principal}));
  }
  server->grpc_services_ = std::make_unique<GrpcServices>(
      options.grpc_api, options.grpc_threads,
      GrpcServices::CacheArgs{*server->handler_, server->rpc_metrics_, server->executor_.get(),
                              *server->namespace_ops_, server->authorizer_.get(),
                              server->watch_hub_.get()});
  LARDER_RETURN_IF_ERROR(server->StartMetrics());
  LARDER_RETURN_IF_ERROR(server->StartGrpc());
  LARDER_RETURN_IF_ERROR(server->StartHealthPort());
  server->CheckHealthAtStart();
  server->health_thread_ = std::thread([s = server.get()] { s->HealthLoop(); });
  return server;
}

absl::Status LarderServer::StartGrpc() {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Reflection lists every method to anyone: off by default once callers must authenticate.
  if (!options_.reflection.value_or(options_.auth_tokens_file.empty())) {
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
  int port = 0;
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                          ServerCredentialsFor(options_.tls));
  builder.AddListeningPort(options_.listen, credentials, &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Near-cache clients ping every 5 s to find a silent larderd (client/src/client_core.cc);
  // gRPC's default would answer pings more often than every 5 minutes with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4000);
  SetMaxConnectionAge(builder, options_);
  // No channelz service is served, so its per-call and per-socket counters are pure cost.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // Room for the largest value plus its key, tags and framing; and for the largest response.
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(options_.handler.max_value_bytes + limits::kMessageOverheadBytes,
                        std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(static_cast<int>(
      std::min<int64_t>(options_.handler.max_response_bytes + limits::kMessageOverheadBytes,
                        std::numeric_limits<int>::max())));
  grpc_services_->RegisterOn(builder);
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port == 0) {
    return CannotListen(options_.listen, "--listen", "gRPC could not bind it");
  }
  grpc_services_->Start(*grpc_server_);
  grpc_address_ = WithPort(options_.listen, port);
  return absl::OkStatus();
}

absl::Status LarderServer::StartHealthPort() {
  if (options_.health_listen.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutReflection>());
  health_port_services_ =
      std::make_unique<GrpcServices>(options_.grpc_api, /*threads=*/1, std::nullopt);
  health_port_services_->RegisterOn(builder);
  builder.AddListeningPort(options_.health_listen, grpc::InsecureServerCredentials());
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Near-cache clients ping every 5 s to find a silent larderd (client/src/client_core.cc);
  // gRPC's default would answer pings more often than every 5 minutes with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4000);
  health_server_ = builder.BuildAndStart();  // Serves only the health service.
  if (health_server_ == nullptr) {
    return CannotListen(options_.health_listen, "--health-listen", "gRPC could not bind it");
  }
  health_port_services_->Start(*health_server_);
  return absl::OkStatus();
}

void LarderServer::ReloadAuth() {
  if (authorizer_ == nullptr) {
    Log(Severity::kInfo, "config_reload",
        {{"result", "ignored"}, {"why", "no --auth-tokens-file to re-read"}});
    return;
  }
  absl::StatusOr<size_t> loaded = authorizer_->Reload();
  if (loaded.ok()) {
    Log(Severity::kInfo, "config_reload",
        {{"file", authorizer_->tokens_file()}, {"result", "accepted"}, {"principals", *loaded}});
    return;
  }
  const std::string cause(loaded.status().message());
  if (std::optional<int64_t> suppressed = reload_log_limiter_.Allow(cause)) {
    Log(Severity::kWarning, "config_reload",
        {{"file", authorizer_->tokens_file()},
         {"result", "rejected"},
         {"cause", cause},
         {"in_force", "previous"},
         {"suppressed", *suppressed}});
  }
}

absl::Status LarderServer::StartMetrics() {
  if (options_.metrics_address.empty()) return absl::OkStatus();
  ServerMetricsOptions metrics_options;
  metrics_options.max_namespaces = options_.metrics_max_namespaces;
  metrics_options.version = LARDER_VERSION;
  metrics_options.store = StoreIdentity(options_.engine_options, options_.engine, options_.listen);
  if (options_.engine == "memory") {
    metrics_options.memory_limit_bytes = options_.engine_options.memory.max_bytes;
  }
  if (engine_->blocking()) metrics_options.engine_stats_max_age = options_.engine_stats_max_age;
  metrics_ = std::make_shared<ServerMetrics>(rpc_metrics_, *handler_, metrics_options);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_address);
  } catch (const std::exception& e) {
    return CannotListen(options_.metrics_address, "--metrics-address", e.what());
  }
  exposer_->RegisterCollectable(metrics_);
  if (authorizer_ != nullptr) {
    auth_metrics_ = std::make_shared<AuthMetrics>(*authorizer_);
    exposer_->RegisterCollectable(auth_metrics_);
  }
  watch_metrics_ = std::make_shared<WatchMetrics>(*watch_hub_);
  exposer_->RegisterCollectable(watch_metrics_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  metrics_address_ = WithPort(options_.metrics_address, ports.empty() ? 0 : ports.front());
  return absl::OkStatus();
}

// Service "" answers whether the process serves at all (liveness: restarting larderd would not
// bring a lost Redis back); "larder.v1.Cache" follows the engine's health (readiness).
void LarderServer::SetServing(bool serving) {
  for (GrpcServices* services : {grpc_services_.get(), health_port_services_.get()}) {
    if (services == nullptr) continue;
    services->SetServing("", true);
    services->SetServing(kServiceName, serving);
  }
}

void LarderServer::CheckHealthAtStart() {
  start_health_ = last_health_ = engine_->CheckHealth();
  if (last_health_.ok()) {
    connected_once_ = true;
    absl::MutexLock lock(&mutex_);
    ready_ = true;
  } else {
    unhealthy_since_ = absl::Now();
    (void)health_log_limiter_.Allow(last_health_.message());  // WhenReady logs this cause.
  }
  SetServing(last_health_.ok());
}

void LarderServer::WhenReady(std::function<void()> announce) {
  absl::MutexLock lock(&mutex_);
  if (ready_) {
    // When the engine only became usable after Start, the health checker has said so.
    if (start_health_.ok()) Log(Severity::kInfo, "engine_connected", {{"engine", options_.engine}});
    announce();
    return;
  }
  announce_ = std::move(announce);
  Log(Severity::kWarning, "waiting_for_engine",
      {{"engine", options_.engine}, {"cause", start_health_}, {"ready", false}});
}

void LarderServer::BecomeReady() {
  if (ready_) return;
  ready_ = true;
  if (announce_) announce_();
}

// One line per change of engine health and readiness, and while the engine stays unhealthy at
// most one per cause every 30 s, with the count of checks left out.
void LarderServer::LogHealth(const absl::Status& health) {
  const bool was_serving = last_health_.ok();
  last_health_ = health;
  if (health.ok() && was_serving) return;
  const std::string engine = options_.engine;
  if (health.ok()) {
    const absl::Duration down = absl::Now() - unhealthy_since_;
    Log(Severity::kInfo, connected_once_ ? "engine_recovered" : "engine_connected",
        {{"engine", engine},
         {connected_once_ ? "down_for" : "waited", absl::Trunc(down, absl::Milliseconds(1))}});
    Log(Severity::kInfo, "readiness", {{"service", kServiceName}, {"status", "SERVING"}});
    connected_once_ = true;
    return;
  }
  const std::string cause(health.message());
  if (was_serving) {
    unhealthy_since_ = absl::Now();
    (void)health_log_limiter_.Allow(cause);
    Log(Severity::kWarning, "engine_lost", {{"engine", engine}, {"cause", cause}});
    Log(Severity::kWarning, "readiness", {{"service", kServiceName}, {"status", "NOT_SERVING"}});
  } else if (std::optional<int64_t> suppressed = health_log_limiter_.Allow(cause)) {
    Log(Severity::kWarning, "engine_still_down",
        {{"engine", engine},
         {"cause", cause},
         {"down_for", absl::Trunc(absl::Now() - unhealthy_since_, absl::Seconds(1))},
         {"suppressed", *suppressed}});
  }
}

void LarderServer::HealthLoop() {
  absl::Time next_forget = absl::Now() + options_.forget_idle_namespaces_interval;
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.health_check_interval)) {
    mutex_.Unlock();
    const absl::Status health = engine_->CheckHealth();
    LogHealth(health);
    if (authorizer_ != nullptr && authorizer_->FileChanged()) ReloadAuth();
    if (options_.forget_idle_namespaces_interval > absl::ZeroDuration() &&
        absl::Now() >= next_forget) {
      next_forget = absl::Now() + options_.forget_idle_namespaces_interval;
      namespace_ops_->TrySubmit([this] { handler_->ForgetIdleNamespaces(kIdleNamespaceChecks); });
    }
    mutex_.Lock();
    if (stopping_) continue;
    SetServing(health.ok());
    if (health.ok()) BecomeReady();
  }
}

void LarderServer::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (shut_down_) return;
    shut_down_ = stopping_ = true;
  }
  if (health_thread_.joinable()) health_thread_.join();
  if (health_server_ != nullptr) {
    health_port_services_->ShutdownHealth();
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
    health_port_services_->Stop();
  }
  // Open Watch streams would hold the gRPC server's shutdown until its grace ends.
  if (watch_hub_ != nullptr) watch_hub_->Shutdown();
  if (grpc_server_ != nullptr) {
    Log(Severity::kInfo, "shutdown", {{"phase", "draining"}, {"grace", options_.shutdown_grace}});
    const absl::Time draining = absl::Now();
    grpc_services_->ShutdownHealth();
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           absl::ToChronoSeconds(options_.shutdown_grace));
    grpc_server_->Wait();
    grpc_services_->Stop();
    Log(Severity::kInfo, "shutdown",
        {{"phase", "drained"},
         {"took", absl::Trunc(absl::Now() - draining, absl::Milliseconds(1))}});
  }
  executor_.reset();  // Runs what is still queued.
  namespace_ops_.reset();
  StopExposer(std::move(exposer_), options_.metrics_address);
}

LarderServer::~LarderServer() { Shutdown(); }

}  // namespace larder::server

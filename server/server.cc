#include "server/server.h"

#include <algorithm>
#include <exception>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/server_builder.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"
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

}  // namespace

absl::StatusOr<std::unique_ptr<LarderServer>> LarderServer::Start(
    const ServerOptions& options, const storage::EngineRegistry& registry, const Clock& clock) {
  LARDER_RETURN_IF_ERROR(ValidateServerOptions(options));
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
  server->service_ = std::make_unique<CacheService>(
      *server->handler_, server->rpc_metrics_, server->executor_.get(), *server->namespace_ops_,
      server->authorizer_.get(), server->watch_hub_.get());
  LARDER_RETURN_IF_ERROR(server->StartMetrics());
  LARDER_RETURN_IF_ERROR(server->StartGrpc());
  LARDER_RETURN_IF_ERROR(server->StartHealthPort());
  server->SetServing(server->engine_->CheckHealth().ok());
  server->health_thread_ = std::thread([s = server.get()] { s->HealthLoop(); });
  return server;
}

absl::Status LarderServer::StartGrpc() {
  grpc::EnableDefaultHealthCheckService(true);
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
  // No channelz service is served, so its per-call and per-socket counters are pure cost.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // Room for the largest value plus its key, tags and framing; and for the largest response.
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(options_.handler.max_value_bytes + limits::kMessageOverheadBytes,
                        std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(static_cast<int>(
      std::min<int64_t>(options_.handler.max_response_bytes + limits::kMessageOverheadBytes,
                        std::numeric_limits<int>::max())));
  builder.RegisterService(service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen: cannot serve on ", options_.listen, " (address in use?)"));
  }
  grpc_address_ = WithPort(options_.listen, port);
  return absl::OkStatus();
}

absl::Status LarderServer::StartHealthPort() {
  if (options_.health_listen.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutReflection>());
  // Every other method is UNIMPLEMENTED here; gRPC needs one callback service to poll for.
  builder.RegisterCallbackGenericService(&health_port_others_);
  builder.AddListeningPort(options_.health_listen, grpc::InsecureServerCredentials());
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Near-cache clients ping every 5 s to find a silent larderd (client/src/client_core.cc);
  // gRPC's default would answer pings more often than every 5 minutes with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4000);
  health_server_ = builder.BuildAndStart();  // Serves only the default health service.
  if (health_server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("health-listen: cannot serve on ",
                                               options_.health_listen, " (address in use?)"));
  }
  return absl::OkStatus();
}

void LarderServer::ReloadAuth() {
  if (authorizer_ == nullptr) return;
  absl::StatusOr<size_t> loaded = authorizer_->Reload();
  if (loaded.ok()) {
    std::cerr << "larderd: auth: loaded " << *loaded << " principals from "
              << authorizer_->tokens_file() << std::endl;
  } else {
    std::cerr << "larderd: auth: rejected the new tokens file, the previous one stays in force: "
              << loaded.status().message() << std::endl;
  }
}

absl::Status LarderServer::StartMetrics() {
  if (options_.metrics_address.empty()) return absl::OkStatus();
  ServerMetricsOptions metrics_options{options_.metrics_max_namespaces, LARDER_VERSION};
  if (engine_->blocking()) metrics_options.engine_stats_max_age = options_.engine_stats_max_age;
  metrics_ = std::make_shared<ServerMetrics>(rpc_metrics_, *handler_, metrics_options);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics-address: cannot serve on ",
                                               options_.metrics_address, ": ", e.what()));
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
  for (grpc::Server* server : {grpc_server_.get(), health_server_.get()}) {
    grpc::HealthCheckServiceInterface* health =
        server == nullptr ? nullptr : server->GetHealthCheckService();
    if (health == nullptr) continue;
    health->SetServingStatus("", true);
    health->SetServingStatus(kServiceName, serving);
  }
}

// One line per change of readiness, so an engine outage is in the log once, not once per check.
void LarderServer::LogReadinessChange(bool serving, const absl::Status& health) {
  if (serving == last_logged_serving_) return;
  last_logged_serving_ = serving;
  if (serving) {
    std::cerr << "larderd: engine healthy again; larder.v1.Cache is SERVING\n";
  } else {
    std::cerr << "larderd: engine unhealthy; larder.v1.Cache is NOT_SERVING until it recovers: "
              << health << "\n";
  }
}

void LarderServer::HealthLoop() {
  absl::Time next_forget = absl::Now() + options_.forget_idle_namespaces_interval;
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.health_check_interval)) {
    mutex_.Unlock();
    const absl::Status health = engine_->CheckHealth();
    const bool serving = health.ok();
    LogReadinessChange(serving, health);
    if (authorizer_ != nullptr && authorizer_->FileChanged()) ReloadAuth();
    if (options_.forget_idle_namespaces_interval > absl::ZeroDuration() &&
        absl::Now() >= next_forget) {
      next_forget = absl::Now() + options_.forget_idle_namespaces_interval;
      namespace_ops_->TrySubmit([this] { handler_->ForgetIdleNamespaces(kIdleNamespaceChecks); });
    }
    mutex_.Lock();
    if (!stopping_) SetServing(serving);
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
    health_server_->GetHealthCheckService()->Shutdown();
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
  }
  // Open Watch streams would hold the gRPC server's shutdown until its grace ends.
  if (watch_hub_ != nullptr) watch_hub_->Shutdown();
  if (grpc_server_ != nullptr) {
    grpc_server_->GetHealthCheckService()->Shutdown();
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           absl::ToChronoSeconds(options_.shutdown_grace));
    grpc_server_->Wait();
  }
  executor_.reset();  // Runs what is still queued.
  namespace_ops_.reset();
  exposer_.reset();
}

LarderServer::~LarderServer() { Shutdown(); }

}  // namespace larder::server

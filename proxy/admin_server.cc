#include "proxy/admin_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/httplib/cached.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace larder::proxy {
namespace {

void AddRoutes(::httplib::Server& server, const AdminServerOptions& options) {
  server.Get("/metrics", [registry = options.registry](const ::httplib::Request&,
                                                       ::httplib::Response& response) {
    std::string text;
    if (registry != nullptr) text = prometheus::TextSerializer().Serialize(registry->Collect());
    response.set_content(text, "text/plain; version=0.0.4");
  });
  server.Get("/healthz", [](const ::httplib::Request&, ::httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [readiness = options.readiness](const ::httplib::Request&,
                                                        ::httplib::Response& response) {
    const absl::Status ready = readiness ? readiness() : absl::OkStatus();
    response.status = ready.ok() ? 200 : 503;
    response.set_content(
        ready.ok() ? std::string("ready\n") : absl::StrCat("not ready: ", ready.message(), "\n"),
        "text/plain");
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(AdminServerOptions options) {
  auto admin = std::unique_ptr<AdminServer>(new AdminServer());
  admin->options_ = std::move(options);
  admin->server_ = std::make_unique<::httplib::Server>();
  larder::httplib::ServerOptions server_options;
  server_options.threads = static_cast<size_t>(admin->options_.threads);
  server_options.listen_backlog = 64;
  larder::httplib::ConfigureServer(*admin->server_, server_options);
  AddRoutes(*admin->server_, admin->options_);
  admin->port_ = larder::httplib::Bind(*admin->server_, admin->options_.listen.host,
                                       admin->options_.listen.port, server_options);
  if (admin->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("--admin-listen: cannot listen on ", FormatHostPort(admin->options_.listen)));
  }
  ::httplib::Server& server = *admin->server_;
  std::atomic<bool>& ended = admin->ended_;
  admin->thread_ = std::thread([&server, &ended] {
    server.listen_after_bind();
    ended = true;
  });
  // Stop() is a no-op until the accept loop runs, so Start returns only once it does.
  while (!server.is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return admin;
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace larder::proxy

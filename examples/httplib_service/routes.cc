#include "routes.h"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/httplib/cached.h"
#include "nlohmann/json.hpp"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace larder::examples {
namespace {

using ::httplib::Request;
using ::httplib::Response;
using ::httplib::Server;
using ::larder::httplib::Cached;

constexpr char kJson[] = "application/json";

http::RoutePolicy Policy(std::string cache_namespace, absl::Duration ttl) {
  http::RoutePolicy policy;
  policy.cache_namespace = std::move(cache_namespace);
  policy.ttl = ttl;
  // The example lets clients force a fresh render (no-cache, max-age=0); a production route
  // usually keeps the default (false) so one client cannot make the handler run for everyone.
  policy.honor_client_refresh = true;
  return policy;
}

void AddItemRoutes(Server& server, http::HttpCache& cache, ServiceState& state) {
  http::RoutePolicy items = Policy("items", absl::Seconds(30));
  items.tags = {"items"};
  server.Get("/items/(\\d+)", Cached(cache, items, [&state](const Request& req, Response& res) {
               const int render = ++state.renders;
               absl::MutexLock lock(&state.mutex);
               auto it = state.items.find(req.matches[1].str());
               if (it == state.items.end()) {
                 res.status = 404;
                 res.set_content(absl::StrCat(R"({"error":"no such item","render":)", render, "}"),
                                 kJson);
                 return;
               }
               res.set_content(absl::StrCat(R"({"id":)", it->first, R"(,"item":)", it->second,
                                            R"(,"render":)", render, "}"),
                               kJson);
             }));
  // A successful PUT through the same policy invalidates every cached response of its path.
  server.Put("/items/(\\d+)", Cached(cache, items, [&state](const Request& req, Response& res) {
               nlohmann::json value = nlohmann::json::parse(req.body, nullptr, false);
               if (value.is_discarded()) {
                 res.status = 400;
                 res.set_content(R"({"error":"body must be JSON"})", kJson);
                 return;
               }
               absl::MutexLock lock(&state.mutex);
               state.items[req.matches[1].str()] = value.dump();
               res.set_content(
                   absl::StrCat(R"({"id":)", req.matches[1].str(), R"(,"updated":true})"), kJson);
             }));
}

void AddSearchAndLocalized(Server& server, http::HttpCache& cache, ServiceState& state) {
  http::RoutePolicy search = Policy("search", absl::Seconds(30));
  search.query_params = std::vector<std::string>{"q", "page"};
  search.shared = true;  // Public data: requests with Authorization share the entries.
  server.Get("/search", Cached(cache, search, [&state](const Request& req, Response& res) {
               nlohmann::json body = {{"q", req.get_param_value("q")},
                                      {"page", req.get_param_value("page")},
                                      {"render", ++state.renders}};
               res.set_content(body.dump(), kJson);
             }));
  http::RoutePolicy localized = Policy("localized", absl::Seconds(30));
  localized.vary = {"Accept-Language"};
  server.Get("/localized", Cached(cache, localized, [&state](const Request& req, Response& res) {
               const std::string language = req.get_header_value("Accept-Language");
               const std::string greeting = language.rfind("de", 0) == 0   ? "Hallo"
                                            : language.rfind("fr", 0) == 0 ? "Bonjour"
                                                                           : "Hello";
               nlohmann::json body = {{"greeting", greeting}, {"render", ++state.renders}};
               res.set_content(body.dump(), kJson);
             }));
}

void AddPrivateAndClientCacheable(Server& server, http::HttpCache& cache, ServiceState& state) {
  http::RoutePolicy secret = Policy("private", absl::Seconds(30));
  secret.checks_before_lookup.push_back(
      [](const http::Request& request) -> std::optional<http::Response> {
        if (request.headers.Get("X-API-Key") == "secret") return std::nullopt;
        return http::Response{401, {{"Content-Type", kJson}}, R"({"error":"X-API-Key required"})"};
      });
  server.Get("/private", Cached(cache, secret, [&state](const Request&, Response& res) {
               nlohmann::json body = {{"secret", "larder"}, {"render", ++state.renders}};
               res.set_content(body.dump(), kJson);
             }));
  http::RoutePolicy cacheable = Policy("client", absl::Seconds(30));
  cacheable.client.is_public = true;
  cacheable.client.max_age = absl::Seconds(30);
  server.Get("/client-cacheable", Cached(cache, cacheable, [&state](const Request&, Response& res) {
               nlohmann::json body = {{"render", ++state.renders}};
               res.set_content(body.dump(), kJson);
             }));
}

void AddFlakyRoutes(Server& server, http::HttpCache& cache, ServiceState& state) {
  http::RoutePolicy flaky = Policy("flaky", absl::Seconds(1));
  flaky.stale_if_error = absl::Seconds(60);
  flaky.stale_while_revalidate = absl::Seconds(5);
  server.Get("/flaky", Cached(cache, flaky, [&state](const Request&, Response& res) {
               const int render = ++state.renders;
               std::string mode;
               {
                 absl::MutexLock lock(&state.mutex);
                 mode = state.flaky_mode;
               }
               if (mode == "throw") throw std::runtime_error("flaky handler failed");
               res.status = mode == "error" ? 500 : 200;
               nlohmann::json body = {{"ok", mode == "ok"}, {"render", render}};
               res.set_content(body.dump(), kJson);
             }));
  auto set_mode = [&state](std::string mode) {
    return [&state, mode](const Request& req, Response& res) {
      absl::MutexLock lock(&state.mutex);
      state.flaky_mode = mode == "error" && req.get_param_value("mode") == "throw" ? "throw" : mode;
      res.set_content(nlohmann::json{{"mode", state.flaky_mode}}.dump(), kJson);
    };
  };
  server.Post("/flaky/fail", set_mode("error"));
  server.Post("/flaky/recover", set_mode("ok"));
}

// Responses that must never be stored, one per rule, cached under a 30 s policy.
void AddUnshareableRoutes(Server& server, http::HttpCache& cache, ServiceState& state) {
  http::RoutePolicy policy = Policy("unshareable", absl::Seconds(30));
  server.Get("/unshareable/([a-z-]+)",
             Cached(cache, policy, [&state](const Request& req, Response& res) {
               const std::string kind = req.matches[1].str();
               if (kind == "cookie") res.set_header("Set-Cookie", "visitor=v1; Path=/");
               if (kind == "private") res.set_header("Cache-Control", "Private, max-age=5");
               if (kind == "no-store") res.set_header("Cache-Control", "max-age=5 , NO-STORE");
               if (kind == "vary-star") res.set_header("Vary", "*");
               if (kind == "not-found") res.status = 404;
               nlohmann::json body = {{"kind", kind}, {"render", ++state.renders}};
               res.set_content(body.dump(), kJson);
             }));
}

void AddPlainRoutes(Server& server, http::HttpCache& cache, ServiceState& state,
                    std::shared_ptr<prometheus::Registry> registry) {
  server.Get("/slow", Cached(cache, Policy("slow", absl::Seconds(30)),
                             [&state](const Request&, Response& res) {
                               const int render = ++state.renders;
                               std::this_thread::sleep_for(std::chrono::milliseconds(200));
                               res.set_content(nlohmann::json{{"render", render}}.dump(), kJson);
                             }));
  server.Get("/uncached", [&state](const Request&, Response& res) {
    res.set_content(nlohmann::json{{"render", ++state.renders}}.dump(), kJson);
  });
  server.Get("/metrics", [registry](const Request&, Response& res) {
    res.set_content(prometheus::TextSerializer().Serialize(registry->Collect()),
                    "text/plain; version=0.0.4");
  });
}

}  // namespace

void AddRoutes(Server& server, http::HttpCache& cache, ServiceState& state,
               std::shared_ptr<prometheus::Registry> registry) {
  AddItemRoutes(server, cache, state);
  AddSearchAndLocalized(server, cache, state);
  AddPrivateAndClientCacheable(server, cache, state);
  AddFlakyRoutes(server, cache, state);
  AddUnshareableRoutes(server, cache, state);
  AddPlainRoutes(server, cache, state, std::move(registry));
}

std::vector<std::string> RouteNamespaces() {
  return {"items", "search", "localized", "private", "client", "flaky", "unshareable", "slow"};
}

}  // namespace larder::examples

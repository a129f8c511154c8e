#include "larder/beast/cached.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

namespace larder::beast {
namespace bhttp = boost::beast::http;
namespace {

// A copy of a Beast request bound to its handler: always detachable, and able to revalidate.
class BeastRouteHandler final : public http::RouteHandler {
 public:
  BeastRouteHandler(std::shared_ptr<const Handler> handler, BeastRequest request)
      : handler_(std::move(handler)), request_(std::move(request)) {}

  http::Response Render() override { return ToCoreResponse((*handler_)(request_)); }

  std::unique_ptr<http::RouteHandler> Detach() const override {
    return std::make_unique<BeastRouteHandler>(handler_, request_);
  }

  // Beast's set() removes every field of the name (case-insensitively) before inserting.
  std::unique_ptr<http::RouteHandler> WithHeaders(const http::Headers& headers) const override {
    BeastRequest copy = request_;
    for (const http::Headers::Field& field : headers.fields()) copy.set(field.first, field.second);
    return std::make_unique<BeastRouteHandler>(handler_, std::move(copy));
  }

 private:
  std::shared_ptr<const Handler> handler_;
  BeastRequest request_;
};

}  // namespace

http::Request ToCoreRequest(const BeastRequest& request, const std::string& scheme) {
  http::Request core;
  core.scheme = scheme;
  core.method = std::string(request.method_string());
  std::string target(request.target());
  target.erase(std::min(target.find('#'), target.size()));  // Never sent; dropped like httplib.
  const size_t question = target.find('?');
  core.path = http::DecodePath(absl::string_view(target).substr(0, question));
  if (question != std::string::npos) core.query = target.substr(question + 1);
  for (const auto& field : request) {
    core.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  core.host = core.headers.Get("Host").value_or("");
  core.body = request.body();
  return core;
}

http::Response ToCoreResponse(const BeastResponse& response) {
  http::Response core;
  core.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    if (field.name() == bhttp::field::content_length) continue;
    core.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  core.body = response.body();
  return core;
}

BeastResponse FromCoreResponse(const http::Response& core, const BeastRequest& request) {
  BeastResponse response{static_cast<bhttp::status>(core.status), request.version()};
  for (const auto& [name, value] : core.headers.fields()) response.insert(name, value);
  response.body() = core.body;
  response.keep_alive(request.keep_alive());
  const bool read = request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
  if (read && core.status >= 200 && core.status <= 299) response.set("Accept-Ranges", "none");
  if (core.status != 304 && request.method() != bhttp::verb::head) response.prepare_payload();
  return response;
}

Handler Cached(http::HttpCache& cache, http::RoutePolicy policy, Handler handler,
               std::string scheme) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  if (!http::ValidatePolicy(policy).ok()) return *shared;
  auto shared_policy = std::make_shared<const http::RoutePolicy>(std::move(policy));
  return [&cache, shared, shared_policy, scheme = std::move(scheme)](const BeastRequest& request) {
    BeastRouteHandler route_handler(shared, request);
    return FromCoreResponse(
        cache.Handle(ToCoreRequest(request, scheme), *shared_policy, route_handler), request);
  };
}

}  // namespace larder::beast

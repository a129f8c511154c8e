#include "client/src/http/render.h"

#include <functional>
#include <memory>
#include <utility>

namespace larder::http {
namespace {

class FunctionRouteHandler final : public RouteHandler {
 public:
  FunctionRouteHandler(std::shared_ptr<const std::function<Response(const Request&)>> handler,
                       Request request)
      : handler_(std::move(handler)), request_(std::move(request)) {}
  Response Render() override { return (*handler_)(request_); }
  std::unique_ptr<RouteHandler> Detach() const override {
    return std::make_unique<FunctionRouteHandler>(handler_, request_);
  }
  std::unique_ptr<RouteHandler> WithHeaders(const Headers& headers) const override {
    Request copy = request_;
    for (const Headers::Field& field : headers.fields())
      copy.headers.Set(field.first, field.second);
    return std::make_unique<FunctionRouteHandler>(handler_, std::move(copy));
  }

 private:
  std::shared_ptr<const std::function<Response(const Request&)>> handler_;
  Request request_;
};

// Fields a 304 never replaces: they describe the stored body's bytes (RFC 9111 section 4.3.4).
bool DescribesTheStoredBody(absl::string_view name) {
  return HeaderNameEquals(name, "Content-Length") || HeaderNameEquals(name, "Content-Encoding") ||
         HeaderNameEquals(name, "Content-Range");
}

// True when `headers` carry a precondition that setting `validators` would leave in place.
bool KeepsAPrecondition(const Headers& headers, const Headers& validators) {
  for (const char* name :
       {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}) {
    if (headers.Has(name) && !validators.Has(name)) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<RouteHandler> MakeRouteHandler(std::function<Response(const Request&)> handler,
                                               Request request) {
  return std::make_unique<FunctionRouteHandler>(
      std::make_shared<const std::function<Response(const Request&)>>(std::move(handler)),
      std::move(request));
}

namespace internal {

Rendered RenderSafely(RouteHandler& handler) {
  Rendered rendered;
  try {
    rendered.response = handler.Render();
  } catch (...) {
    rendered.error = std::current_exception();
  }
  return rendered;
}

Headers ValidatorsOf(const StoredResponse& stored) {
  Headers validators;
  if (!stored.meta.etag.empty()) validators.Set("If-None-Match", stored.meta.etag);
  if (std::optional<std::string> last_modified = stored.response.headers.Get("Last-Modified")) {
    validators.Set("If-Modified-Since", *last_modified);
  }
  return validators;
}

Response Freshened(const StoredResponse& stored, const Response& not_modified) {
  Response response = stored.response;
  for (const Headers::Field& field : not_modified.headers.fields()) {
    if (!DescribesTheStoredBody(field.first)) response.headers.Remove(field.first);
  }
  for (const Headers::Field& field : not_modified.headers.fields()) {
    if (!DescribesTheStoredBody(field.first)) response.headers.Add(field.first, field.second);
  }
  return response;
}

Rendered RenderRevalidating(RouteHandler& handler, const std::optional<StoredResponse>& stored,
                            const Request& request) {
  if (!stored.has_value()) return RenderSafely(handler);
  const Headers validators = ValidatorsOf(*stored);
  std::unique_ptr<RouteHandler> conditional =
      validators.empty() || KeepsAPrecondition(request.headers, validators)
          ? nullptr
          : handler.WithHeaders(validators);
  if (conditional == nullptr) return RenderSafely(handler);
  Rendered rendered = RenderSafely(*conditional);
  if (rendered.error == nullptr && rendered.response->status == 304) {
    rendered.response = Freshened(*stored, *rendered.response);
    rendered.revalidated = true;
  }
  return rendered;
}

}  // namespace internal
}  // namespace larder::http

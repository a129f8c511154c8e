// libFuzzer target for proxy/routes_config.h: ParseProxyConfig on arbitrary bytes (YAML through
// libyaml, regexes through RE2), then MatchRoute of a fixed path on what it accepts.
//
// Aborts when a refusal is not kInvalidArgument "fuzz.yaml:<line>: ..." on one line, or when an
// accepted config breaks what the header promises: at most kMaxRoutes routes, each with a name
// that is its metrics label and exactly one of prefix (starting with '/') and regex; every
// policy (default route included) with freshness from the response, the config's tags header,
// and passing http::ValidatePolicy; MatchRoute returning one of the config's routes that
// matches the path.
//
//   build-fuzz/tests/fuzz/proxy_config_fuzz tests/fuzz/corpus/proxy_config_fuzz \
//       -dict=tests/fuzz/proxy_config_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "larder/http/policy.h"
#include "proxy/routes_config.h"
#include "re2/re2.h"

namespace {

using larder::proxy::ProxyConfig;
using larder::proxy::ProxyRoute;

constexpr absl::string_view kSource = "fuzz.yaml";
constexpr absl::string_view kPath = "/items/7/reviews";

void Fail(const char* what) {
  std::fprintf(stderr, "proxy_config_fuzz: %s\n", what);
  std::abort();
}

void CheckRefusal(const absl::Status& status, size_t text_size) {
  if (status.code() != absl::StatusCode::kInvalidArgument) Fail("refusal is not kInvalidArgument");
  absl::string_view message = status.message();
  if (absl::StrContains(message, '\n')) Fail("refusal spans several lines");
  if (!absl::ConsumePrefix(&message, kSource) || !absl::ConsumePrefix(&message, ":")) {
    Fail("refusal does not name the source");
  }
  const size_t colon = message.find(':');
  int line = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(message.substr(0, colon), &line)) {
    Fail("refusal names no line");
  }
  // libyaml also breaks lines at \r, NEL, LS and PS, so the text's bytes bound the line.
  if (line < 1 || static_cast<size_t>(line) > text_size + 1) Fail("refusal line out of range");
}

void CheckPolicy(const ProxyRoute& route, const ProxyConfig& config) {
  if (route.name.empty() || route.policy.route != route.name) Fail("route label is not its name");
  if (route.policy.freshness != larder::http::FreshnessSource::kResponse) {
    Fail("route freshness is not kResponse");
  }
  if (route.policy.response_tags_header != config.tags_header) Fail("route tags header differs");
  if (!route.policy.invalidate_on_write) Fail("route does not invalidate on writes");
  if (!larder::http::ValidatePolicy(route.policy).ok()) Fail("route policy fails ValidatePolicy");
}

void CheckConfig(const ProxyConfig& config) {
  if (config.routes.size() > larder::proxy::kMaxRoutes) Fail("more than kMaxRoutes routes");
  if (!config.default_route.prefix.empty() || config.default_route.regex != nullptr) {
    Fail("default route with a prefix or regex");
  }
  CheckPolicy(config.default_route, config);
  for (const ProxyRoute& route : config.routes) {
    if (route.prefix.empty() == (route.regex == nullptr)) Fail("route without exactly one matcher");
    if (!route.prefix.empty() && route.prefix[0] != '/') Fail("prefix without a leading '/'");
    if (route.regex != nullptr && !route.regex->ok()) Fail("accepted regex that failed");
    CheckPolicy(route, config);
  }
}

void CheckMatch(const ProxyConfig& config) {
  const ProxyRoute& route = larder::proxy::MatchRoute(config, kPath);
  if (&route == &config.default_route) return;
  if (config.routes.empty() || &route < &config.routes.front() || &route > &config.routes.back()) {
    Fail("MatchRoute returned a route of no config");
  }
  const bool matches =
      route.regex != nullptr
          ? re2::RE2::PartialMatch(re2::StringPiece(kPath.data(), kPath.size()), *route.regex)
          : absl::StartsWith(kPath, route.prefix);
  if (!matches) Fail("MatchRoute returned a route that does not match");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ProxyConfig> config = larder::proxy::ParseProxyConfig(text, kSource);
  if (!config.ok()) {
    CheckRefusal(config.status(), size);
    return 0;
  }
  CheckConfig(*config);
  CheckMatch(*config);
  return 0;
}

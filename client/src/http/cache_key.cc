#include "client/src/http/cache_key.h"

namespace larder::http::internal {
namespace {

template <typename Options>
void SetCookies(Options& options, const RoutePolicy& policy) {
  if constexpr (HasCookieField<Options>::value) {
    options.cookies = policy.vary_cookies;
  } else {
    (void)options;
    (void)policy;
  }
}

}  // namespace

KeyOptions KeyOptionsFor(const RoutePolicy& policy) {
  KeyOptions options;
  options.vary = policy.vary;
  options.query_params = policy.query_params;
  SetCookies(options, policy);
  return options;
}

std::string KeyFor(const Request& request, const RoutePolicy& policy) {
  const Request* as_get = &request;
  Request copy;
  if (request.method == "HEAD") {
    copy = request;
    copy.method = "GET";
    as_get = &copy;
  }
  if (policy.key_builder) return policy.key_builder(*as_get);
  return DefaultCacheKey(*as_get, KeyOptionsFor(policy));
}

}  // namespace larder::http::internal

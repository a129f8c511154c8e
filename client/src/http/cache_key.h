// The larder key of a request under a route: the route's key_builder, or DefaultCacheKey with the
// route's vary headers, query parameters and (once the key carries them) vary_cookies. HEAD is
// presented as GET so it finds the GET entry.
//
//   std::string key = larder::http::internal::KeyFor(request, policy);  // "" means do not cache
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "larder/http/key.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"

namespace larder::http::internal {

// Whether KeyOptions has a `cookies` field (the key can then select by cookie values).
template <typename Options, typename = void>
struct HasCookieField : std::false_type {};
template <typename Options>
struct HasCookieField<Options, std::void_t<decltype(std::declval<Options&>().cookies)>>
    : std::true_type {};
inline constexpr bool kKeyCarriesCookies = HasCookieField<KeyOptions>::value;

// KeyOptions of the route: vary, query_params and vary_cookies (when the key carries them).
KeyOptions KeyOptionsFor(const RoutePolicy& policy);

// The key of `request` (HEAD as GET); empty when the route's key_builder says not to cache.
std::string KeyFor(const Request& request, const RoutePolicy& policy);

}  // namespace larder::http::internal

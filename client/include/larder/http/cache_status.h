// Cache-Status (RFC 9211): the response header telling a client how this cache handled its
// request, e.g. "larder; hit; ttl=12" or "larder; fwd=uri-miss; stored".
//
//   larder::http::CacheStatus status;
//   status.forward = larder::http::Forward::kUriMiss;
//   status.stored = true;
//   std::string value = larder::http::FormatCacheStatus("larder", status);
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::http {

// Why the request went to the handler (the fwd parameter, RFC 9211 section 2.2).
enum class Forward {
  kNone,     // Not forwarded: answered from the cache.
  kBypass,   // This cache was configured not to handle the request (e.g. Authorization).
  kMethod,   // The method is not cacheable.
  kUriMiss,  // Nothing was stored for the key.
  kRequest,  // The request's Cache-Control asked for a fresh response.
  kStale,    // The stored response was stale.
};

struct CacheStatus {
  bool hit = false;
  Forward forward = Forward::kNone;
  // The status the handler answered with, when forwarded and it matters.
  std::optional<int> forward_status;
  // Remaining freshness of the response sent; negative when stale.
  std::optional<absl::Duration> ttl;
  bool stored = false;
  bool collapsed = false;
  // Free-form reason, e.g. "authorization", "stale-while-revalidate", "store-unavailable".
  std::string detail;
};

absl::string_view ForwardName(Forward forward);
// The header value: an RFC 8941 List of one Item, the cache name, with a parameter for each field
// set. Names and details go as Tokens when they can, else as Strings, where a byte outside
// printable ASCII becomes '?'; ttl is in whole seconds, floored and kept within +-10^15 - 1.
std::string FormatCacheStatus(absl::string_view cache_name, const CacheStatus& status);

}  // namespace larder::http

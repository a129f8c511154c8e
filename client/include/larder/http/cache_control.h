// Cache-Control (RFC 9111 section 5.2) parsed into request and response structs, and the
// response directives formatted back into a header value.
//
//   auto cc = larder::http::ParseRequestCacheControl("No-Cache, max-age = \"0\"");
//   if (cc.no_cache || cc.max_age == absl::ZeroDuration()) { /* render afresh */ }
//   std::string value = larder::http::FormatCacheControl(response_directives);
//
// Directives are a comma-separated list; names compare case-insensitively; values may be
// quoted; spaces around ',' and '=' are tolerated; unknown directives are ignored. A malformed
// delta-seconds value makes a request directive absent and a response max-age / s-maxage zero
// (RFC 9111 section 4.2.1: treat such a response as stale). Values above 2^31 seconds clamp to
// 2^31 (section 1.2.2). The first occurrence of a repeated request directive wins; of repeated
// response max-age / s-maxage values the most restrictive (shortest) wins (section 4.2.1).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::http {

// Request directives (RFC 9111 section 5.2.1).
struct RequestCacheControl {
  bool no_cache = false;
  bool no_store = false;
  bool no_transform = false;
  bool only_if_cached = false;
  std::optional<absl::Duration> max_age;
  // max-stale without a value means "any staleness": absl::InfiniteDuration().
  std::optional<absl::Duration> max_stale;
  std::optional<absl::Duration> min_fresh;
  std::optional<absl::Duration> stale_if_error;
};

// Response directives (RFC 9111 section 5.2.2, RFC 5861 for the stale-* extensions, RFC 8246
// for immutable).
struct ResponseCacheControl {
  bool no_cache = false;  // Also set by the qualified form no-cache="field".
  bool no_store = false;
  bool no_transform = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool is_public = false;
  bool is_private = false;  // Also set by the qualified form private="field".
  bool immutable = false;
  std::optional<absl::Duration> max_age;
  std::optional<absl::Duration> s_maxage;
  std::optional<absl::Duration> stale_while_revalidate;
  std::optional<absl::Duration> stale_if_error;
};

RequestCacheControl ParseRequestCacheControl(absl::string_view header);
ResponseCacheControl ParseResponseCacheControl(absl::string_view header);

// "public, no-cache, max-age=30, …" in a fixed order; empty when no directive is set.
// Durations are written as whole seconds, rounded down.
std::string FormatCacheControl(const ResponseCacheControl& directives);

// One parsed list member, exposed for tests and for other list headers (Pragma).
struct CacheDirective {
  std::string name;   // Lower-cased.
  std::string value;  // Unquoted; empty when absent.
  bool has_value = false;
};
std::vector<CacheDirective> ParseDirectiveList(absl::string_view header);

}  // namespace larder::http

// Entity tags (RFC 9110 section 8.8.3): making strong ETags from bytes and evaluating
// If-None-Match / If-Match lists against them. Shared by larderd and the SDK's HTTP layer so a
// value has the same ETag wherever it is computed.
//
//   std::string tag = larder::StrongEtagFor(body);          // "\"3f2a…\"" (34 characters)
//   if (larder::IfNoneMatchMatches(header, tag)) { /* answer 304 */ }
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace larder {

// The strong, quoted ETag of `bytes`: '"' + 32 lowercase hex digits of XXH3-128 + '"'.
// A pure function of the bytes: stable across processes, machines, engines and versions.
std::string StrongEtagFor(absl::string_view bytes);

// One entity tag of a list: its opaque quoted part and whether it was weak (W/ prefix).
struct EntityTag {
  bool weak = false;
  absl::string_view opaque;  // Including the quotes.
};

// Parses a comma-separated list of entity tags. Malformed members are skipped, as a cache
// must not fail a request over them. "*" is not a member: callers test IsWildcard() first.
std::vector<EntityTag> ParseEntityTagList(absl::string_view header);

// True when the header is the "*" wildcard (surrounding whitespace allowed).
bool IsEntityTagWildcard(absl::string_view header);

// If-None-Match evaluation (weak comparison, lists, "*") against a present entry's `etag`.
bool IfNoneMatchMatches(absl::string_view header, absl::string_view etag);

// If-Match evaluation (strong comparison, lists, "*") against a present entry's `etag`.
// A weak tag on either side never matches.
bool IfMatchMatches(absl::string_view header, absl::string_view etag);

}  // namespace larder

// ReplayableCopy: an owned copy of a cpp-httplib request that a handler can run on after the
// original is gone (stale-while-revalidate refreshes, revalidation with other headers), with its
// regex captures re-established.
//
//   std::shared_ptr<const ::httplib::Request> copy = ReplayableCopy(request);
//   if (copy != nullptr) handler(*copy, response);   // copy->matches[1] == request.matches[1]
//   auto changed = ReplayableCopyWithHeaders(request, {{"If-None-Match", "\"v1\""}});
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "larder/http/request.h"

namespace larder::httplib::internal {

// The captures of `original.matches` are rebuilt on the copy's own path by matching it against
// a positional pattern derived from the capture offsets, then checked capture by capture.
// nullptr when that cannot be done (an unmatched optional group, captures out of order).
std::shared_ptr<const ::httplib::Request> ReplayableCopy(const ::httplib::Request& original);

// ReplayableCopy with each field of `headers` set: every field of the request with that name
// (compared case-insensitively) is replaced by the given value, never added beside it. nullptr
// when ReplayableCopy would be. O(request size + number of headers).
std::shared_ptr<const ::httplib::Request> ReplayableCopyWithHeaders(
    const ::httplib::Request& original, const http::Headers& headers);

// The positional pattern: `[\s\S]{n}` runs with the captures as nested groups, or "" when the
// captures cannot be expressed (exposed for tests).
std::string PositionalPattern(const ::httplib::Match& matches, size_t subject_size);

}  // namespace larder::httplib::internal

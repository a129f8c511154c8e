// ReplayableCopy: an owned copy of a cpp-httplib request that a handler can run on after the
// original is gone (stale-while-revalidate refreshes), with its regex captures re-established.
//
//   std::shared_ptr<const ::httplib::Request> copy = ReplayableCopy(request);
//   if (copy != nullptr) handler(*copy, response);   // copy->matches[1] == request.matches[1]
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

namespace larder::httplib::internal {

// The captures of `original.matches` are rebuilt on the copy's own path by matching it against
// a positional pattern derived from the capture offsets, then checked capture by capture.
// nullptr when that cannot be done (an unmatched optional group, captures out of order).
std::shared_ptr<const ::httplib::Request> ReplayableCopy(const ::httplib::Request& original);

// The positional pattern: `[\s\S]{n}` runs with the captures as nested groups, or "" when the
// captures cannot be expressed (exposed for tests).
std::string PositionalPattern(const ::httplib::Match& matches, size_t subject_size);

}  // namespace larder::httplib::internal

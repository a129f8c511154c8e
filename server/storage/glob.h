// Glob matching for Invalidate{pattern}: '*' matches any run of bytes (including none), '?'
// exactly one byte, and '\' makes the next byte literal. Everything else matches itself.
//
//   GlobMatch("user:*:profile", "user:42:profile")  // true
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace larder::storage {

// True when `text` matches `pattern` in full. Linear in |pattern| * |text| at worst; no
// backtracking blow-up.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

// The literal bytes every match must start with (up to the first '*' or '?'), for engines that
// narrow a pattern scan to a key range.
std::string GlobLiteralPrefix(absl::string_view pattern);

}  // namespace larder::storage

// Flag value types of larderd: byte sizes with binary suffixes ("512MiB", "8M", "1048576").
//
//   ABSL_FLAG(larder::server::ByteSize, memory_limit, larder::server::ByteSize{1 << 30}, "...");
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace larder::server {

struct ByteSize {
  int64_t bytes = 0;
};

// Accepts a non-negative integer with an optional suffix K, KB, KiB, M, MB, MiB, G, GB, GiB
// (all powers of 1024, case-insensitive).
bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error);
// The largest whole binary unit, which parses back: 1073741824 -> "1GiB", 1536 -> "1536".
std::string AbslUnparseFlag(ByteSize size);

// Rewrites "--some-flag=value" to "--some_flag=value" (the names this program documents use
// dashes; the flag library's use underscores). Other arguments are returned unchanged.
std::string NormalizeFlagArgument(absl::string_view argument);

// `url` with the password of its user information replaced by "***", for logs:
// redis://user:secret@host:6379/0 -> redis://user:***@host:6379/0, redis://secret@h ->
// redis://***@h. Everything before the last '@' after "scheme://" is user information, as the Redis
// engine reads it.
std::string RedactUrlPassword(absl::string_view url);

// "LARDER_" + the flag name in upper snake case: memory_limit -> LARDER_MEMORY_LIMIT.
std::string EnvironmentVariableFor(absl::string_view flag_name);

}  // namespace larder::server

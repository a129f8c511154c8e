// RESP2 (the Redis protocol), only as much as a load generator needs: encoding a command as an
// array of bulk strings, and finding where one reply ends while counting nil elements and
// errors. Values themselves are skipped, never copied.
//
//   std::string out;
//   AppendCommand(out, {"GET", "key:000000000042"});
//   ReplySummary summary;
//   int64_t used = ParseReply(buffer, summary);   // 0: incomplete, -1: not RESP
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace larder::bench {

// Appends `args` as one RESP command (an array of bulk strings) to `out`.
void AppendCommand(std::string& out, const std::vector<absl::string_view>& args);

struct ReplySummary {
  bool error = false;    // A "-ERR ..." reply, at the top or inside an array.
  int64_t elements = 0;  // 1 for a scalar reply, n for an array of n.
  int64_t nils = 0;      // Nil bulk strings among them (GET / MGET misses).
};

// Parses one complete reply at the start of `in`. Returns the bytes it spans, 0 when `in` holds
// only part of it, or -1 when `in` is not RESP.
int64_t ParseReply(absl::string_view in, ReplySummary& summary);

}  // namespace larder::bench

#include "bench/loadgen/resp.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace larder::bench {
namespace {

constexpr int kMaxDepth = 4;

// Reads the integer on the line starting at `pos` (after the type byte); sets `next` past CRLF.
// Returns false when the line is incomplete or malformed (then `next` is 0 or -1).
bool ReadLineInteger(absl::string_view in, size_t pos, int64_t& value, int64_t& next) {
  const size_t end = in.find("\r\n", pos);
  if (end == absl::string_view::npos) {
    next = 0;
    return false;
  }
  const auto [ptr, ec] = std::from_chars(in.data() + pos, in.data() + end, value);
  if (ec != std::errc() || ptr != in.data() + end) {
    next = -1;
    return false;
  }
  next = static_cast<int64_t>(end + 2);
  return true;
}

// Parses one value at `pos`; returns its end offset, 0 when incomplete, -1 when malformed.
int64_t ParseAt(absl::string_view in, size_t pos, int depth, bool top, ReplySummary& summary) {
  if (pos >= in.size()) return 0;
  const char type = in[pos];
  if (type == '+' || type == '-' || type == ':') {
    const size_t end = in.find("\r\n", pos);
    if (end == absl::string_view::npos) return 0;
    if (type == '-') summary.error = true;
    if (top) summary.elements = 1;
    return static_cast<int64_t>(end + 2);
  }
  int64_t length = 0;
  int64_t next = 0;
  if ((type != '$' && type != '*') || depth > kMaxDepth) return -1;
  if (!ReadLineInteger(in, pos + 1, length, next)) return next;
  if (type == '$') {
    if (top) summary.elements = 1;
    if (length < 0) {
      ++summary.nils;
      return next;
    }
    const int64_t end = next + length + 2;
    return end <= static_cast<int64_t>(in.size()) ? end : 0;
  }
  if (top) summary.elements = std::max<int64_t>(length, 0);
  for (int64_t i = 0; i < length; ++i) {
    next = ParseAt(in, static_cast<size_t>(next), depth + 1, false, summary);
    if (next <= 0) return next;
  }
  return next;
}

}  // namespace

void AppendCommand(std::string& out, const std::vector<absl::string_view>& args) {
  absl::StrAppend(&out, "*", args.size(), "\r\n");
  for (absl::string_view arg : args) absl::StrAppend(&out, "$", arg.size(), "\r\n", arg, "\r\n");
}

int64_t ParseReply(absl::string_view in, ReplySummary& summary) {
  summary = ReplySummary{};
  return ParseAt(in, 0, 0, true, summary);
}

}  // namespace larder::bench

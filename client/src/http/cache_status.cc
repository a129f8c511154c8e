#include "larder/http/cache_status.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace larder::http {
namespace {

// A Structured Fields token may be sent bare; anything else is a quoted string.
bool IsToken(absl::string_view text) {
  if (text.empty() ||
      !(absl::ascii_isalpha(static_cast<unsigned char>(text[0])) || text[0] == '*')) {
    return false;
  }
  for (char c : text) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
          absl::string_view("!#$%&'*+-.^_`|~:/").find(c) != absl::string_view::npos)) {
      return false;
    }
  }
  return true;
}

// A Structured Fields string holds printable ASCII only (RFC 8941 section 3.3.3): any other byte
// (a control character, CR, LF, UTF-8) becomes '?', so the header stays one valid field line.
std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  }
  out.push_back('"');
  return out;
}

// ttl in whole seconds, floored, within the range of a Structured Fields Integer (15 digits);
// an infinite ttl is that range's end.
int64_t TtlSeconds(absl::Duration ttl) {
  constexpr int64_t kMaxInteger = 999'999'999'999'999;
  const int64_t seconds = absl::ToInt64Seconds(absl::Floor(ttl, absl::Seconds(1)));
  return std::clamp(seconds, -kMaxInteger, kMaxInteger);
}

}  // namespace

absl::string_view ForwardName(Forward forward) {
  switch (forward) {
    case Forward::kNone:
      return "";
    case Forward::kBypass:
      return "bypass";
    case Forward::kMethod:
      return "method";
    case Forward::kUriMiss:
      return "uri-miss";
    case Forward::kRequest:
      return "request";
    case Forward::kStale:
      return "stale";
  }
  return "";
}

std::string FormatCacheStatus(absl::string_view cache_name, const CacheStatus& status) {
  std::string out = IsToken(cache_name) ? std::string(cache_name) : Quote(cache_name);
  if (status.hit) absl::StrAppend(&out, "; hit");
  if (status.forward != Forward::kNone) {
    absl::StrAppend(&out, "; fwd=", ForwardName(status.forward));
  }
  if (status.forward_status.has_value()) {
    absl::StrAppend(&out, "; fwd-status=", *status.forward_status);
  }
  if (status.ttl.has_value()) {
    absl::StrAppend(&out, "; ttl=", TtlSeconds(*status.ttl));
  }
  if (status.stored) absl::StrAppend(&out, "; stored");
  if (status.collapsed) absl::StrAppend(&out, "; collapsed");
  if (!status.detail.empty()) {
    absl::StrAppend(&out,
                    "; detail=", IsToken(status.detail) ? status.detail : Quote(status.detail));
  }
  return out;
}

}  // namespace larder::http

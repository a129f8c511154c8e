#include "larder/http/conditional.h"

#include "absl/strings/ascii.h"
#include "larder/common/etag.h"

namespace larder::http {
namespace {

constexpr char kHttpDateFormat[] = "%a, %d %b %Y %H:%M:%S GMT";

constexpr const char* kNotModifiedHeaders[] = {
    "ETag", "Cache-Control", "Vary", "Expires", "Content-Location", "Date", "Age", "Cache-Status",
};

bool Keeps(absl::string_view name, const std::vector<std::string>& also_keep) {
  for (const char* kept : kNotModifiedHeaders) {
    if (HeaderNameEquals(name, kept)) return true;
  }
  for (const std::string& kept : also_keep) {
    if (HeaderNameEquals(name, kept)) return true;
  }
  return false;
}

}  // namespace

Conditional EvaluateConditional(const Headers& request_headers, absl::string_view etag,
                                std::optional<absl::Time> last_modified) {
  if (request_headers.Has("If-None-Match")) {
    const std::string list = request_headers.GetJoined("If-None-Match");
    if (etag.empty()) return Conditional::kModified;
    return IfNoneMatchMatches(list, etag) ? Conditional::kNotModified : Conditional::kModified;
  }
  std::optional<std::string> since_header = request_headers.Get("If-Modified-Since");
  if (!since_header.has_value() || !last_modified.has_value()) return Conditional::kNone;
  std::optional<absl::Time> since = ParseHttpDate(*since_header);
  if (!since.has_value()) return Conditional::kNone;  // Invalid dates are ignored.
  return *last_modified <= *since ? Conditional::kNotModified : Conditional::kModified;
}

std::optional<absl::Time> ParseHttpDate(absl::string_view value) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(kHttpDateFormat, std::string(absl::StripAsciiWhitespace(value)),
                       absl::UTCTimeZone(), &time, &error)) {
    return std::nullopt;
  }
  // absl::ParseTime also accepts the words "infinite-future" and "infinite-past", whatever the
  // format: they are not HTTP-dates (found by tests/fuzz/cache_control_fuzz).
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) return std::nullopt;
  return time;
}

std::string FormatHttpDate(absl::Time time) {
  return absl::FormatTime(kHttpDateFormat, time, absl::UTCTimeZone());
}

Response MakeNotModified(const Response& full, const std::vector<std::string>& also_keep) {
  Response not_modified;
  not_modified.status = 304;
  for (const Headers::Field& field : full.headers.fields()) {
    if (Keeps(field.first, also_keep)) not_modified.headers.Add(field.first, field.second);
  }
  return not_modified;
}

}  // namespace larder::http

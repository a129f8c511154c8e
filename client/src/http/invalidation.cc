#include "client/src/http/invalidation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace larder::http::internal {
namespace {

// The authority lower-cased, without the scheme's default port.
std::string Origin(absl::string_view scheme, absl::string_view authority) {
  std::string lower = absl::AsciiStrToLower(authority);
  const std::string port = absl::EqualsIgnoreCase(scheme, "https") ? ":443" : ":80";
  if (absl::EndsWith(lower, port)) lower.resize(lower.size() - port.size());
  return lower;
}

// RFC 3986 section 5.2.4.
std::string RemoveDotSegments(absl::string_view path) {
  std::vector<absl::string_view> out;
  std::vector<absl::string_view> segments = absl::StrSplit(path, '/');
  for (size_t i = 1; i < segments.size(); ++i) {
    const absl::string_view segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (segment == ".") {
      if (last) out.push_back("");
    } else if (segment == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.push_back("");
    } else {
      out.push_back(segment);
    }
  }
  return absl::StrCat("/", absl::StrJoin(out, "/"));
}

// Splits "scheme:rest" when `reference` starts with a scheme.
std::optional<std::pair<absl::string_view, absl::string_view>> SplitScheme(
    absl::string_view reference) {
  const size_t colon = reference.find(':');
  if (colon == 0 || colon == absl::string_view::npos) return std::nullopt;
  for (size_t i = 0; i < colon; ++i) {
    const char c = reference[i];
    const bool ok = absl::ascii_isalpha(static_cast<unsigned char>(c)) ||
                    (i > 0 && (absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                               c == '-' || c == '.'));
    if (!ok) return std::nullopt;
  }
  return std::make_pair(reference.substr(0, colon), reference.substr(colon + 1));
}

}  // namespace

bool InvalidatesOnWrite(const Request& request, const Response& response) {
  return IsInvalidatingMethod(request) && response.status >= 200 && response.status <= 399;
}

std::optional<std::string> SameOriginPath(const Request& request, absl::string_view reference) {
  reference = absl::StripAsciiWhitespace(reference.substr(0, reference.find_first_of("?#")));
  absl::string_view scheme = request.scheme;
  if (auto split = SplitScheme(reference)) {
    scheme = split->first;
    if (!absl::EqualsIgnoreCase(scheme, request.scheme)) return std::nullopt;
    reference = split->second;
    if (!absl::StartsWith(reference, "//")) return std::nullopt;
  }
  if (absl::ConsumePrefix(&reference, "//")) {
    const size_t slash = reference.find('/');
    if (Origin(scheme, reference.substr(0, slash)) != Origin(request.scheme, request.host)) {
      return std::nullopt;
    }
    reference = slash == absl::string_view::npos ? "/" : reference.substr(slash);
  }
  // Entries are tagged with the decoded path (Request::path), so the reference is decoded too.
  if (reference.empty()) return request.path;
  if (reference[0] == '/') return RemoveDotSegments(DecodePath(reference));
  const size_t last_slash = request.path.rfind('/');
  const std::string base =
      last_slash == std::string::npos ? "/" : request.path.substr(0, last_slash + 1);
  return RemoveDotSegments(absl::StrCat(base, DecodePath(reference)));
}

std::vector<std::string> InvalidatedPaths(const Request& request, const Response& response) {
  std::vector<std::string> paths = {request.path};
  for (const char* header : {"Location", "Content-Location"}) {
    std::optional<std::string> value = response.headers.Get(header);
    if (!value.has_value()) continue;
    std::optional<std::string> path = SameOriginPath(request, *value);
    if (path.has_value() && std::find(paths.begin(), paths.end(), *path) == paths.end()) {
      paths.push_back(*std::move(path));
    }
  }
  return paths;
}

}  // namespace larder::http::internal

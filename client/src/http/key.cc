#include "larder/http/key.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"

namespace larder::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte; a malformed escape
// is kept literally.
std::string FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Percent-encodes everything but unreserved characters (RFC 3986 section 2.3).
std::string Encode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

bool Declared(const std::optional<std::vector<std::string>>& keep, const std::string& name) {
  if (!keep.has_value()) return true;
  return std::find(keep->begin(), keep->end(), name) != keep->end();
}

// Cookie names and values are trimmed of spaces and tabs (RFC 6265 section 5.2).
absl::string_view TrimBlanks(absl::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::vector<std::string> SortedUnique(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string HashHex(absl::string_view text) {
  std::string quoted = StrongEtagFor(text);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

std::string CanonicalQuery(absl::string_view query,
                           const std::optional<std::vector<std::string>>& keep) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> raw =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    std::string name = FormDecode(raw.first);
    if (name.empty() || !Declared(keep, name)) continue;
    pairs.emplace_back(std::move(name), FormDecode(raw.second));
  }
  // By name only: the values of a repeated name keep their order, which most frameworks give
  // their handlers (?tag=x&tag=y is a different list than ?tag=y&tag=x).
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return absl::StrJoin(pairs, "&", [](std::string* out, const auto& pair) {
    absl::StrAppend(out, Encode(pair.first), "=", Encode(pair.second));
  });
}

std::vector<std::pair<std::string, std::string>> ParseCookies(const Headers& headers) {
  std::vector<std::pair<std::string, std::string>> cookies;
  for (const std::string& field : headers.GetAll("Cookie")) {
    for (absl::string_view member : absl::StrSplit(field, ';')) {
      const size_t equals = member.find('=');
      if (equals == absl::string_view::npos) continue;
      const absl::string_view name = TrimBlanks(member.substr(0, equals));
      if (name.empty()) continue;
      cookies.emplace_back(std::string(name), std::string(TrimBlanks(member.substr(equals + 1))));
    }
  }
  return cookies;
}

std::string CanonicalRequestText(const Request& request, const KeyOptions& options) {
  absl::string_view method = request.method;
  if (method == "HEAD") method = "GET";
  std::string text =
      absl::StrCat("larder-http-key/2\n", method, "\n", absl::AsciiStrToLower(request.scheme), "\n",
                   absl::AsciiStrToLower(request.host), "\n", request.path, "\n",
                   CanonicalQuery(request.query, options.query_params), "\n");
  std::vector<std::string> names;
  for (const std::string& name : options.vary) names.push_back(absl::AsciiStrToLower(name));
  for (const std::string& name : SortedUnique(std::move(names))) {
    absl::StrAppend(&text, name, ":", request.headers.GetJoined(name), "\n");
  }
  if (options.cookies.empty()) return text;
  const std::vector<std::pair<std::string, std::string>> cookies = ParseCookies(request.headers);
  for (const std::string& name : SortedUnique(options.cookies)) {
    absl::StrAppend(&text, "cookie:", name);
    const char* separator = "=";
    for (const auto& [cookie_name, value] : cookies) {
      if (cookie_name != name) continue;
      absl::StrAppend(&text, separator, value);
      separator = ";";
    }
    absl::StrAppend(&text, "\n");
  }
  return text;
}

std::string DefaultCacheKey(const Request& request, const KeyOptions& options) {
  return HashHex(CanonicalRequestText(request, options));
}

std::string PathTag(absl::string_view path) {
  // Part of every stored entry's tags, so fixed: "path:" plus up to 250 bytes is a valid tag.
  constexpr size_t kMaxLiteralPathBytes = 250;
  static_assert(5 + kMaxLiteralPathBytes <= limits::kMaxTagBytes);
  if (path.size() <= kMaxLiteralPathBytes) return absl::StrCat("path:", path);
  return absl::StrCat("path:#", HashHex(path));
}

}  // namespace larder::http

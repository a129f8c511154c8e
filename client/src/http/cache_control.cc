#include "larder/http/cache_control.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace larder::http {
namespace {

constexpr int64_t kMaxDeltaSeconds = int64_t{1} << 31;

// Reads a quoted-string at the front of `rest` (which starts with '"'), handling
// backslash escapes; advances past the closing quote (or to the end when unterminated).
std::string ConsumeQuoted(absl::string_view& rest) {
  std::string out;
  size_t i = 1;
  for (; i < rest.size() && rest[i] != '"'; ++i) {
    if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
    out.push_back(rest[i]);
  }
  rest.remove_prefix(i < rest.size() ? i + 1 : rest.size());
  return out;
}

// Parses one "name [= value]" member and advances past the following comma.
CacheDirective ConsumeDirective(absl::string_view& rest) {
  CacheDirective directive;
  size_t name_end = rest.find_first_of("=,");
  directive.name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(rest.substr(0, name_end)));
  rest.remove_prefix(name_end == absl::string_view::npos ? rest.size() : name_end);
  if (!rest.empty() && rest[0] == '=') {
    rest.remove_prefix(1);
    rest = absl::StripLeadingAsciiWhitespace(rest);
    directive.has_value = true;
    if (!rest.empty() && rest[0] == '"') {
      directive.value = ConsumeQuoted(rest);
    } else {
      size_t value_end = rest.find(',');
      directive.value = std::string(absl::StripAsciiWhitespace(rest.substr(0, value_end)));
      rest.remove_prefix(value_end == absl::string_view::npos ? rest.size() : value_end);
    }
  }
  // Skip anything up to and including the next comma (garbage after a quoted value).
  size_t comma = rest.find(',');
  rest.remove_prefix(comma == absl::string_view::npos ? rest.size() : comma + 1);
  return directive;
}

// delta-seconds: 1*DIGIT. nullopt when malformed.
std::optional<absl::Duration> ParseDeltaSeconds(const CacheDirective& directive) {
  if (!directive.has_value || directive.value.empty()) return std::nullopt;
  int64_t seconds = 0;
  for (char c : directive.value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
    if (seconds > kMaxDeltaSeconds) seconds = kMaxDeltaSeconds;
  }
  return absl::Seconds(seconds);
}

void SetOnce(std::optional<absl::Duration>& field, std::optional<absl::Duration> value) {
  if (!field.has_value()) field = value;
}

// Response-side: a malformed value still counts, as zero (stale); of conflicting duplicates the
// most restrictive (shortest) wins (RFC 9111 section 4.2.1).
void SetResponseDelta(std::optional<absl::Duration>& field, const CacheDirective& directive) {
  std::optional<absl::Duration> value = ParseDeltaSeconds(directive);
  const absl::Duration parsed = value.has_value() ? *value : absl::ZeroDuration();
  field = field.has_value() ? std::min(*field, parsed) : parsed;
}

void AppendDelta(std::vector<std::string>& parts, absl::string_view name,
                 const std::optional<absl::Duration>& value) {
  if (!value.has_value()) return;
  absl::Duration clamped = *value < absl::ZeroDuration() ? absl::ZeroDuration() : *value;
  parts.push_back(absl::StrCat(name, "=", absl::ToInt64Seconds(clamped)));
}

}  // namespace

std::vector<CacheDirective> ParseDirectiveList(absl::string_view header) {
  std::vector<CacheDirective> directives;
  absl::string_view rest = header;
  while (!absl::StripLeadingAsciiWhitespace(rest).empty()) {
    CacheDirective directive = ConsumeDirective(rest);
    if (!directive.name.empty()) directives.push_back(std::move(directive));
  }
  return directives;
}

RequestCacheControl ParseRequestCacheControl(absl::string_view header) {
  RequestCacheControl cc;
  for (const CacheDirective& d : ParseDirectiveList(header)) {
    if (d.name == "no-cache") {
      cc.no_cache = true;
    } else if (d.name == "no-store") {
      cc.no_store = true;
    } else if (d.name == "no-transform") {
      cc.no_transform = true;
    } else if (d.name == "only-if-cached") {
      cc.only_if_cached = true;
    } else if (d.name == "max-age") {
      SetOnce(cc.max_age, ParseDeltaSeconds(d));
    } else if (d.name == "max-stale") {
      SetOnce(cc.max_stale, d.has_value ? ParseDeltaSeconds(d) : absl::InfiniteDuration());
    } else if (d.name == "min-fresh") {
      SetOnce(cc.min_fresh, ParseDeltaSeconds(d));
    } else if (d.name == "stale-if-error") {
      SetOnce(cc.stale_if_error, ParseDeltaSeconds(d));
    }
  }
  return cc;
}

ResponseCacheControl ParseResponseCacheControl(absl::string_view header) {
  ResponseCacheControl cc;
  for (const CacheDirective& d : ParseDirectiveList(header)) {
    if (d.name == "no-cache") {
      cc.no_cache = true;
    } else if (d.name == "no-store") {
      cc.no_store = true;
    } else if (d.name == "no-transform") {
      cc.no_transform = true;
    } else if (d.name == "must-revalidate") {
      cc.must_revalidate = true;
    } else if (d.name == "proxy-revalidate") {
      cc.proxy_revalidate = true;
    } else if (d.name == "must-understand") {
      cc.must_understand = true;
    } else if (d.name == "public") {
      cc.is_public = true;
    } else if (d.name == "private") {
      cc.is_private = true;
    } else if (d.name == "immutable") {
      cc.immutable = true;
    } else if (d.name == "max-age") {
      SetResponseDelta(cc.max_age, d);
    } else if (d.name == "s-maxage") {
      SetResponseDelta(cc.s_maxage, d);
    } else if (d.name == "stale-while-revalidate") {
      SetOnce(cc.stale_while_revalidate, ParseDeltaSeconds(d));
    } else if (d.name == "stale-if-error") {
      SetOnce(cc.stale_if_error, ParseDeltaSeconds(d));
    }
  }
  return cc;
}

std::string FormatCacheControl(const ResponseCacheControl& cc) {
  std::vector<std::string> parts;
  if (cc.is_public) parts.push_back("public");
  if (cc.is_private) parts.push_back("private");
  if (cc.no_cache) parts.push_back("no-cache");
  if (cc.no_store) parts.push_back("no-store");
  if (cc.no_transform) parts.push_back("no-transform");
  AppendDelta(parts, "max-age", cc.max_age);
  AppendDelta(parts, "s-maxage", cc.s_maxage);
  if (cc.must_revalidate) parts.push_back("must-revalidate");
  if (cc.proxy_revalidate) parts.push_back("proxy-revalidate");
  if (cc.must_understand) parts.push_back("must-understand");
  AppendDelta(parts, "stale-while-revalidate", cc.stale_while_revalidate);
  AppendDelta(parts, "stale-if-error", cc.stale_if_error);
  if (cc.immutable) parts.push_back("immutable");
  return absl::StrJoin(parts, ", ");
}

}  // namespace larder::http

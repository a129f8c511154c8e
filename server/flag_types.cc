#include "server/flag_types.h"

#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace larder::server {
namespace {

// The multiplier of a size suffix, or 0 when the suffix is unknown.
int64_t SuffixMultiplier(absl::string_view suffix) {
  const std::string lower = absl::AsciiStrToLower(suffix);
  if (lower.empty() || lower == "b") return 1;
  const std::pair<const char*, int64_t> units[] = {
      {"k", int64_t{1} << 10}, {"m", int64_t{1} << 20}, {"g", int64_t{1} << 30}};
  for (const auto& [unit, multiplier] : units) {
    if (lower == unit || lower == absl::StrCat(unit, "b") || lower == absl::StrCat(unit, "ib")) {
      return multiplier;
    }
  }
  return 0;
}

}  // namespace

bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error) {
  text = absl::StripAsciiWhitespace(text);
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  int64_t number = 0;
  const int64_t multiplier = SuffixMultiplier(text.substr(digits));
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &number) || multiplier == 0) {
    *error = "expected a byte count such as 1048576, 512MiB or 8M";
    return false;
  }
  if (number > std::numeric_limits<int64_t>::max() / multiplier) {
    *error = "byte count is too large";
    return false;
  }
  size->bytes = number * multiplier;
  return true;
}

std::string AbslUnparseFlag(ByteSize size) {
  const std::pair<const char*, int64_t> units[] = {
      {"GiB", int64_t{1} << 30}, {"MiB", int64_t{1} << 20}, {"KiB", int64_t{1} << 10}};
  for (const auto& [unit, multiplier] : units) {
    if (size.bytes > 0 && size.bytes % multiplier == 0) {
      return absl::StrCat(size.bytes / multiplier, unit);
    }
  }
  return absl::StrCat(size.bytes);
}

std::string NormalizeFlagArgument(absl::string_view argument) {
  if (argument.size() < 3 || argument.substr(0, 2) != "--") return std::string(argument);
  std::string normalized(argument);
  const size_t name_end = std::min(normalized.find('='), normalized.size());
  for (size_t i = 2; i < name_end; ++i) {
    if (normalized[i] == '-') normalized[i] = '_';
  }
  return normalized;
}

std::string RedactUrlPassword(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == absl::string_view::npos ? 0 : scheme_end + 3;
  const size_t at = url.rfind('@');
  if (at == absl::string_view::npos || at < start) return std::string(url);
  const absl::string_view user_info = url.substr(start, at - start);
  const size_t colon = user_info.find(':');
  const absl::string_view user =
      colon == absl::string_view::npos ? absl::string_view() : user_info.substr(0, colon + 1);
  return absl::StrCat(url.substr(0, start), user, "***", url.substr(at));
}

std::string EnvironmentVariableFor(absl::string_view flag_name) {
  return absl::StrCat("LARDER_", absl::AsciiStrToUpper(flag_name));
}

}  // namespace larder::server

#include "larder/http/headers.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace larder::http {
namespace {

// tchar of RFC 9110 section 5.6.2, as a table: every stored field name is checked on every hit,
// and every request's method and field names by larder-proxy's parser.
constexpr std::array<bool, 256> TokenChars() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = table[c - 'A' + 'a'] = true;
  for (const char c : absl::string_view("!#$%&'*+-.^_`|~")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}
constexpr std::array<bool, 256> kTokenChars = TokenChars();

}  // namespace

bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool IsFieldValue(absl::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) return false;
  }
  return true;
}

bool HeaderNameEquals(absl::string_view a, absl::string_view b) {
  // Lengths first: most pairs differ in length, and EqualsIgnoreCase is a call into Abseil.
  return a.size() == b.size() && absl::EqualsIgnoreCase(a, b);
}

void Headers::Add(absl::string_view name, absl::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

void Headers::Set(absl::string_view name, absl::string_view value) {
  Remove(name);
  Add(name, value);
}

size_t Headers::Remove(absl::string_view name) {
  const size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return HeaderNameEquals(f.first, name); }),
                fields_.end());
  return before - fields_.size();
}

bool Headers::Has(absl::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const Field& f) { return HeaderNameEquals(f.first, name); });
}

std::optional<std::string> Headers::Get(absl::string_view name) const {
  for (const Field& f : fields_) {
    if (HeaderNameEquals(f.first, name)) return f.second;
  }
  return std::nullopt;
}

std::vector<std::string> Headers::GetAll(absl::string_view name) const {
  std::vector<std::string> values;
  for (const Field& f : fields_) {
    if (HeaderNameEquals(f.first, name)) values.push_back(f.second);
  }
  return values;
}

std::string Headers::GetJoined(absl::string_view name) const {
  return absl::StrJoin(GetAll(name), ", ");
}

}  // namespace larder::http

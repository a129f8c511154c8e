// A small, strict parser of RFC 8941 Structured Field Lists of Items (no Inner Lists, Decimals or
// Byte Sequences), for the fuzz targets that check headers larder writes (http_key_fuzz checks
// Cache-Status, RFC 9211, with it). Written from the RFC's parsing algorithms (section 4.2), not
// from larder's formatter.
//
//   std::optional<std::vector<larder::fuzz::SfMember>> list = larder::fuzz::ParseSfList(value);
//   if (!list.has_value()) ...   // not a valid List
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace larder::fuzz {

struct SfItem {
  enum class Kind { kToken, kString, kInteger, kBoolean };
  Kind kind = Kind::kToken;
  std::string text;     // kToken, kString (unescaped)
  int64_t integer = 0;  // kInteger; kBoolean: 1 or 0
};

struct SfParameter {
  std::string key;
  SfItem value;  // A bare key is Boolean true.
};

struct SfMember {
  SfItem item;
  std::vector<SfParameter> parameters;
};

inline SfItem MakeSfItem(SfItem::Kind kind, std::string text = "", int64_t integer = 0) {
  SfItem item;
  item.kind = kind;
  item.text = std::move(text);
  item.integer = integer;
  return item;
}

namespace sf_internal {

inline bool IsTchar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

inline void SkipSpaces(absl::string_view& in) {
  while (!in.empty() && in.front() == ' ') in.remove_prefix(1);
}

inline void SkipOws(absl::string_view& in) {
  while (!in.empty() && (in.front() == ' ' || in.front() == '\t')) in.remove_prefix(1);
}

// sf-integer: at most 15 digits, optionally negative (section 4.2.4).
inline std::optional<SfItem> ParseInteger(absl::string_view& in) {
  SfItem item = MakeSfItem(SfItem::Kind::kInteger);
  const bool negative = !in.empty() && in.front() == '-';
  if (negative) in.remove_prefix(1);
  size_t digits = 0;
  while (!in.empty() && absl::ascii_isdigit(static_cast<unsigned char>(in.front()))) {
    if (++digits > 15) return std::nullopt;
    item.integer = item.integer * 10 + (in.front() - '0');
    in.remove_prefix(1);
  }
  if (digits == 0 || (!in.empty() && in.front() == '.')) return std::nullopt;  // No decimals.
  if (negative) item.integer = -item.integer;
  return item;
}

// sf-string: printable ASCII, with \" and \\ the only escapes (section 4.2.5).
inline std::optional<SfItem> ParseString(absl::string_view& in) {
  SfItem item = MakeSfItem(SfItem::Kind::kString);
  in.remove_prefix(1);  // '"'
  while (!in.empty()) {
    char c = in.front();
    in.remove_prefix(1);
    if (c == '"') return item;
    if (c == '\\') {
      if (in.empty() || (in.front() != '"' && in.front() != '\\')) return std::nullopt;
      c = in.front();
      in.remove_prefix(1);
    } else if (c < 0x20 || c > 0x7e) {
      return std::nullopt;
    }
    item.text.push_back(c);
  }
  return std::nullopt;  // Unterminated.
}

// sf-token: (ALPHA / "*") *(tchar / ":" / "/") (section 4.2.6).
inline std::optional<SfItem> ParseToken(absl::string_view& in) {
  SfItem item = MakeSfItem(SfItem::Kind::kToken);
  while (!in.empty() && (IsTchar(in.front()) || in.front() == ':' || in.front() == '/')) {
    item.text.push_back(in.front());
    in.remove_prefix(1);
  }
  return item;
}

inline std::optional<SfItem> ParseBareItem(absl::string_view& in) {
  if (in.empty()) return std::nullopt;
  const char c = in.front();
  if (c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c))) return ParseInteger(in);
  if (c == '"') return ParseString(in);
  if (c == '*' || absl::ascii_isalpha(static_cast<unsigned char>(c))) return ParseToken(in);
  if (c == '?' && in.size() >= 2 && (in[1] == '0' || in[1] == '1')) {
    SfItem item = MakeSfItem(SfItem::Kind::kBoolean);
    item.integer = in[1] == '1';
    in.remove_prefix(2);
    return item;
  }
  return std::nullopt;
}

// key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) (section 4.2.3.3).
inline std::optional<std::string> ParseKey(absl::string_view& in) {
  if (in.empty() ||
      !(absl::ascii_islower(static_cast<unsigned char>(in.front())) || in.front() == '*')) {
    return std::nullopt;
  }
  std::string key;
  while (!in.empty() && (absl::ascii_islower(static_cast<unsigned char>(in.front())) ||
                         absl::ascii_isdigit(static_cast<unsigned char>(in.front())) ||
                         absl::string_view("_-.*").find(in.front()) != absl::string_view::npos)) {
    key.push_back(in.front());
    in.remove_prefix(1);
  }
  return key;
}

inline std::optional<std::vector<SfParameter>> ParseParameters(absl::string_view& in) {
  std::vector<SfParameter> parameters;
  while (!in.empty() && in.front() == ';') {
    in.remove_prefix(1);
    SkipSpaces(in);
    std::optional<std::string> key = ParseKey(in);
    if (!key.has_value()) return std::nullopt;
    SfItem value = MakeSfItem(SfItem::Kind::kBoolean, "", 1);
    if (!in.empty() && in.front() == '=') {
      in.remove_prefix(1);
      std::optional<SfItem> parsed = ParseBareItem(in);
      if (!parsed.has_value()) return std::nullopt;
      value = *std::move(parsed);
    }
    parameters.push_back({*std::move(key), std::move(value)});
  }
  return parameters;
}

}  // namespace sf_internal

// The members of a List (section 4.2.1), or std::nullopt when `value` is not one.
inline std::optional<std::vector<SfMember>> ParseSfList(absl::string_view value) {
  sf_internal::SkipSpaces(value);
  std::vector<SfMember> members;
  while (!value.empty()) {
    std::optional<SfItem> item = sf_internal::ParseBareItem(value);
    if (!item.has_value()) return std::nullopt;
    std::optional<std::vector<SfParameter>> parameters = sf_internal::ParseParameters(value);
    if (!parameters.has_value()) return std::nullopt;
    members.push_back({*std::move(item), *std::move(parameters)});
    sf_internal::SkipOws(value);
    if (value.empty()) break;
    if (value.front() != ',') return std::nullopt;
    value.remove_prefix(1);
    sf_internal::SkipOws(value);
    if (value.empty()) return std::nullopt;  // A trailing comma.
  }
  return members;
}

}  // namespace larder::fuzz

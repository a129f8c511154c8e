#include "server/storage/glob.h"

#include <cstddef>
#include <string>

namespace larder::storage {
namespace {

// Reads the pattern element at `p`: sets `literal` and returns the index after it. For a
// trailing lone '\', the backslash itself is the literal.
size_t ReadLiteral(absl::string_view pattern, size_t p, char& literal) {
  if (pattern[p] == '\\' && p + 1 < pattern.size()) {
    literal = pattern[p + 1];
    return p + 2;
  }
  literal = pattern[p];
  return p + 1;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0;
  size_t star_p = absl::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      ++t;
      continue;
    }
    if (p < pattern.size()) {
      char literal;
      size_t next = ReadLiteral(pattern, p, literal);
      if (literal == text[t]) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == absl::string_view::npos) return false;
    p = star_p;  // Let the last '*' absorb one more byte and retry.
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string GlobLiteralPrefix(absl::string_view pattern) {
  std::string prefix;
  for (size_t p = 0; p < pattern.size();) {
    if (pattern[p] == '*' || pattern[p] == '?') break;
    char literal;
    p = ReadLiteral(pattern, p, literal);
    prefix.push_back(literal);
  }
  return prefix;
}

}  // namespace larder::storage

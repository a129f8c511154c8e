// libFuzzer target for server/storage/glob.h: GlobMatch and CompiledGlob against a textbook
// dynamic-programming matcher written here, plus the literal-prefix contract.
//
// Input: the first byte is the pattern length L; the next min(L, rest) bytes are the pattern and
// the remaining bytes the text. Aborts when:
//  - GlobMatch(pattern, text) differs from the reference matcher (limits included);
//  - CompiledGlob::Compile(pattern)->Matches(text) differs from GlobMatch;
//  - literal_prefix() differs from the reference prefix, or a matching text does not start with
//    it, or GlobLiteralPrefix disagrees with literal_prefix();
//  - a text built from the pattern (each '*' replaced by a slice of the text, each '?' by a byte
//    of it, escapes resolved) does not match.
//
//   build-fuzz/tests/fuzz/glob_fuzz tests/fuzz/corpus/glob_fuzz -dict=tests/fuzz/glob_fuzz.dict
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "larder/common/limits.h"
#include "server/storage/glob.h"

namespace {

using larder::storage::CompiledGlob;

// One element of a pattern: '*', '?' or a literal byte ('\' escapes resolved).
struct Element {
  enum Kind { kStar, kAny, kLiteral } kind;
  char byte = 0;
};

// `\x` is the literal x; a trailing lone `\` is a literal `\`.
std::vector<Element> Elements(absl::string_view pattern) {
  std::vector<Element> elements;
  for (size_t p = 0; p < pattern.size(); ++p) {
    const char c = pattern[p];
    if (c == '*') {
      elements.push_back({Element::kStar});
    } else if (c == '?') {
      elements.push_back({Element::kAny});
    } else if (c == '\\' && p + 1 < pattern.size()) {
      elements.push_back({Element::kLiteral, pattern[++p]});
    } else {
      elements.push_back({Element::kLiteral, c});
    }
  }
  return elements;
}

int StarCount(const std::vector<Element>& elements) {
  int stars = 0;
  for (const Element& e : elements) stars += e.kind == Element::kStar;
  return stars;
}

// Coverage of the oracle is of no use to the fuzzer and its comparison hooks cost more than the
// oracle itself (half of the target's time), so it is built without them.
#define LARDER_ORACLE __attribute__((no_sanitize("coverage")))

// matches[j]: elements[i..] match text[j..]; computed from the last element back. O(p * t).
LARDER_ORACLE bool ReferenceMatch(const std::vector<Element>& elements, absl::string_view text) {
  const size_t t = text.size();
  std::vector<char> next(t + 1, 0), current(t + 1, 0);
  next[t] = 1;
  for (size_t i = elements.size(); i-- > 0;) {
    const Element& e = elements[i];
    current[t] = e.kind == Element::kStar ? next[t] : 0;
    for (size_t j = t; j-- > 0;) {
      switch (e.kind) {
        case Element::kStar:
          current[j] = next[j] || current[j + 1];
          break;
        case Element::kAny:
          current[j] = next[j + 1];
          break;
        case Element::kLiteral:
          current[j] = text[j] == e.byte && next[j + 1];
          break;
      }
    }
    next.swap(current);
  }
  return next[0];
}

// GlobMatch's contract: the empty pattern matches only the empty text; patterns over the limits
// never match.
bool ReferenceGlobMatch(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return text.empty();
  const std::vector<Element> elements = Elements(pattern);
  if (pattern.size() > larder::limits::kMaxPatternBytes ||
      StarCount(elements) > larder::limits::kMaxPatternStars) {
    return false;
  }
  return ReferenceMatch(elements, text);
}

// The literal bytes before the first '*' or '?'.
std::string ReferencePrefix(const std::vector<Element>& elements) {
  std::string prefix;
  for (const Element& e : elements) {
    if (e.kind != Element::kLiteral) break;
    prefix.push_back(e.byte);
  }
  return prefix;
}

// A text the pattern must match: the i-th '*' becomes a slice of `text`, '?' a byte of it.
std::string Witness(const std::vector<Element>& elements, absl::string_view text) {
  std::string witness;
  size_t star = 0, any = 0;
  for (const Element& e : elements) {
    if (e.kind == Element::kLiteral) {
      witness.push_back(e.byte);
    } else if (e.kind == Element::kAny) {
      witness.push_back(text.empty() ? 'x' : text[any++ % text.size()]);
    } else if (!text.empty()) {
      const size_t from = (star * 7) % text.size();
      const absl::string_view slice = text.substr(from, star % 9);
      witness.append(slice.data(), slice.size());
      ++star;
    }
  }
  return witness;
}

void Fail(const char* what, absl::string_view pattern, absl::string_view text) {
  std::fprintf(stderr, "glob_fuzz: %s (pattern %zu bytes, text %zu bytes)\n", what, pattern.size(),
               text.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t pattern_size = std::min<size_t>(data[0], input.size());
  const absl::string_view pattern = input.substr(0, pattern_size);
  const absl::string_view text = input.substr(pattern_size);

  const bool matches = larder::storage::GlobMatch(pattern, text);
  if (matches != ReferenceGlobMatch(pattern, text)) Fail("GlobMatch != reference", pattern, text);

  absl::StatusOr<CompiledGlob> glob = CompiledGlob::Compile(pattern);
  const std::vector<Element> elements = Elements(pattern);
  const bool within_limits =
      !pattern.empty() && StarCount(elements) <= larder::limits::kMaxPatternStars;
  if (glob.ok() != within_limits) Fail("Compile accepted/refused wrongly", pattern, text);
  if (!glob.ok()) {
    if (!larder::storage::GlobLiteralPrefix(pattern).empty()) {
      Fail("GlobLiteralPrefix of a refused pattern", pattern, text);
    }
    return 0;
  }
  if (glob->Matches(text) != matches) Fail("Matches != GlobMatch", pattern, text);
  const std::string& prefix = glob->literal_prefix();
  if (prefix != ReferencePrefix(elements)) Fail("literal_prefix != reference", pattern, text);
  if (larder::storage::GlobLiteralPrefix(pattern) != prefix) {
    Fail("GlobLiteralPrefix != literal_prefix", pattern, text);
  }
  if (matches && !absl::StartsWith(text, prefix)) {
    Fail("a match does not start with literal_prefix", pattern, text);
  }
  if (!glob->Matches(Witness(elements, text))) Fail("the witness does not match", pattern, text);
  return 0;
}

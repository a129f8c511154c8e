// Glob matching for Invalidate{pattern}: '*' matches any run of bytes (including none), '?'
// exactly one byte, and '\' makes the next byte literal. Everything else matches itself; bytes
// are compared exactly (NUL and invalid UTF-8 included).
//
//   absl::StatusOr<CompiledGlob> glob = CompiledGlob::Compile("user:*:profile");
//   glob->Matches("user:42:profile");   // true
//
// Cost: compiling is O(pattern). Matching one text is linear in the text for any pattern: the
// pattern is split at '*' into segments; the first is anchored at the start, the last at the
// end, and each middle one is found at its leftmost position after the previous one (which is
// always the right choice for globs), with KMP for literal segments (O(text + segment)) and a
// bit-parallel Shift-And for segments with '?' (O(text * (1 + segment / 64))). No backtracking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace larder::storage {

class CompiledGlob {
 public:
  // kInvalidArgument (naming `field`) for a pattern that is empty, longer than
  // limits::kMaxPatternBytes or with more than limits::kMaxPatternStars '*'. A trailing lone
  // '\' matches a literal '\'.
  static absl::StatusOr<CompiledGlob> Compile(absl::string_view pattern,
                                              absl::string_view field = "pattern");

  // True when `text` matches the whole pattern.
  bool Matches(absl::string_view text) const;

  // The literal bytes every match must start with (up to the first '*' or '?'), for engines that
  // narrow a pattern scan to a key range.
  const std::string& literal_prefix() const { return literal_prefix_; }

 private:
  // A run of pattern bytes between two '*'; `any[i]` marks a '?' at position i.
  struct Segment {
    std::string bytes;
    std::vector<bool> any;
    bool has_any = false;
    std::vector<int32_t> failure;  // KMP failure function, for literal segments.
    // Shift-And masks for '?' segments: words per byte value, byte c's at [c * words, +words).
    size_t words = 0;
    std::vector<uint64_t> masks;
  };

  static Segment MakeSegment(std::string bytes, std::vector<bool> any);
  // The position just past the leftmost occurrence of `segment` in text[from, ...), or npos.
  static size_t FindAfter(const Segment& segment, absl::string_view text, size_t from);
  static bool MatchesAt(const Segment& segment, absl::string_view text, size_t at);

  std::vector<Segment> segments_;
  std::string literal_prefix_;
};

// One-shot helpers (compile and match); prefer CompiledGlob when matching many texts.
// Patterns over the limits never match.
bool GlobMatch(absl::string_view pattern, absl::string_view text);
std::string GlobLiteralPrefix(absl::string_view pattern);

}  // namespace larder::storage

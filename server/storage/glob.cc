#include "server/storage/glob.h"

#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/common/limits.h"

namespace larder::storage {
namespace {

constexpr size_t kWordBits = 64;

// The pattern split at unescaped '*' (runs of '*' count as one); a pattern without '*' gives
// one segment. `any[i]` marks a '?' at byte i of a segment.
struct SplitPattern {
  std::vector<std::string> bytes{std::string()};
  std::vector<std::vector<bool>> any{std::vector<bool>()};
  int stars = 0;
};

SplitPattern Split(absl::string_view pattern) {
  SplitPattern split;
  bool after_star = false;
  for (size_t p = 0; p < pattern.size(); ++p) {
    const char c = pattern[p];
    if (c == '*') {
      ++split.stars;
      if (!after_star) {
        split.bytes.emplace_back();
        split.any.emplace_back();
      }
      after_star = true;
      continue;
    }
    after_star = false;
    char literal = c;
    if (c == '\\' && p + 1 < pattern.size()) literal = pattern[++p];
    split.bytes.back().push_back(literal);
    split.any.back().push_back(c == '?');
  }
  return split;
}

std::vector<int32_t> FailureFunction(const std::string& segment) {
  std::vector<int32_t> failure(segment.size(), 0);
  int32_t k = 0;
  for (size_t i = 1; i < segment.size(); ++i) {
    while (k > 0 && segment[i] != segment[k]) k = failure[k - 1];
    if (segment[i] == segment[k]) ++k;
    failure[i] = k;
  }
  return failure;
}

}  // namespace

CompiledGlob::Segment CompiledGlob::MakeSegment(std::string bytes, std::vector<bool> any) {
  Segment segment;
  segment.bytes = std::move(bytes);
  segment.any = std::move(any);
  for (bool wildcard : segment.any) segment.has_any |= wildcard;
  if (!segment.has_any) {
    segment.failure = FailureFunction(segment.bytes);
    return segment;
  }
  // Shift-And: bit i of byte c's mask is set when c may stand at position i. One allocation;
  // a literal position sets one bit, a '?' one bit in each of the 256 masks.
  const size_t words = (segment.bytes.size() + kWordBits - 1) / kWordBits;
  segment.words = words;
  segment.masks.assign(256 * words, 0);
  for (size_t i = 0; i < segment.bytes.size(); ++i) {
    const uint64_t bit = uint64_t{1} << (i % kWordBits);
    if (!segment.any[i]) {
      const size_t c = static_cast<unsigned char>(segment.bytes[i]);
      segment.masks[c * words + i / kWordBits] |= bit;
      continue;
    }
    for (size_t c = 0; c < 256; ++c) segment.masks[c * words + i / kWordBits] |= bit;
  }
  return segment;
}

absl::StatusOr<CompiledGlob> CompiledGlob::Compile(absl::string_view pattern,
                                                   absl::string_view field) {
  if (pattern.empty() || pattern.size() > limits::kMaxPatternBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be 1-", limits::kMaxPatternBytes,
                                                   " bytes, got ", pattern.size()));
  }
  SplitPattern split = Split(pattern);
  if (split.stars > limits::kMaxPatternStars) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", limits::kMaxPatternStars, " '*', got ", split.stars));
  }
  CompiledGlob glob;
  for (size_t i = 0; i < split.bytes.size(); ++i) {
    glob.segments_.push_back(MakeSegment(std::move(split.bytes[i]), std::move(split.any[i])));
  }
  const Segment& head = glob.segments_.front();
  size_t literal = 0;
  while (literal < head.bytes.size() && !head.any[literal]) ++literal;
  glob.literal_prefix_ = head.bytes.substr(0, literal);
  return glob;
}

bool CompiledGlob::MatchesAt(const Segment& segment, absl::string_view text, size_t at) {
  for (size_t i = 0; i < segment.bytes.size(); ++i) {
    if (!segment.any[i] && segment.bytes[i] != text[at + i]) return false;
  }
  return true;
}

size_t CompiledGlob::FindAfter(const Segment& segment, absl::string_view text, size_t from) {
  const size_t length = segment.bytes.size();
  if (length == 0) return from;
  if (!segment.has_any) {  // KMP.
    size_t k = 0;
    for (size_t t = from; t < text.size(); ++t) {
      while (k > 0 && text[t] != segment.bytes[k]) k = segment.failure[k - 1];
      if (text[t] == segment.bytes[k]) ++k;
      if (k == length) return t + 1;
    }
    return absl::string_view::npos;
  }
  const size_t words = segment.words;
  const size_t last_word = (length - 1) / kWordBits;
  const uint64_t last_bit = uint64_t{1} << ((length - 1) % kWordBits);
  std::vector<uint64_t> state(words, 0);
  for (size_t t = from; t < text.size(); ++t) {
    const uint64_t* mask = &segment.masks[static_cast<unsigned char>(text[t]) * words];
    uint64_t carry = 1;  // A match may start at every position.
    for (size_t w = 0; w < words; ++w) {
      const uint64_t next_carry = state[w] >> (kWordBits - 1);
      state[w] = ((state[w] << 1) | carry) & mask[w];
      carry = next_carry;
    }
    if (state[last_word] & last_bit) return t + 1;
  }
  return absl::string_view::npos;
}

bool CompiledGlob::Matches(absl::string_view text) const {
  const Segment& head = segments_.front();
  if (segments_.size() == 1) {
    return text.size() == head.bytes.size() && MatchesAt(head, text, 0);
  }
  const Segment& tail = segments_.back();
  if (text.size() < head.bytes.size() + tail.bytes.size()) return false;
  const size_t end = text.size() - tail.bytes.size();
  if (!MatchesAt(head, text, 0) || !MatchesAt(tail, text, end)) return false;
  const absl::string_view middle = text.substr(0, end);
  size_t position = head.bytes.size();
  for (size_t i = 1; i + 1 < segments_.size(); ++i) {
    position = FindAfter(segments_[i], middle, position);
    if (position == absl::string_view::npos) return false;
  }
  return true;
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return text.empty();
  absl::StatusOr<CompiledGlob> glob = CompiledGlob::Compile(pattern);
  return glob.ok() && glob->Matches(text);
}

std::string GlobLiteralPrefix(absl::string_view pattern) {
  if (pattern.empty()) return "";
  absl::StatusOr<CompiledGlob> glob = CompiledGlob::Compile(pattern);
  return glob.ok() ? glob->literal_prefix() : "";
}

}  // namespace larder::storage

#include "larder/common/etag.h"

#include <xxhash.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace larder {
namespace {

bool IsEtagChar(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

// Parses one entity-tag at the front of `rest`, advancing past it. Returns false when the
// front is not a well-formed entity tag.
bool ConsumeEntityTag(absl::string_view& rest, EntityTag& tag) {
  tag.weak = false;
  if (rest.size() >= 2 && rest[0] == 'W' && rest[1] == '/') {
    tag.weak = true;
    rest.remove_prefix(2);
  }
  if (rest.empty() || rest[0] != '"') return false;
  size_t end = 1;
  while (end < rest.size() && IsEtagChar(static_cast<unsigned char>(rest[end]))) ++end;
  if (end >= rest.size() || rest[end] != '"') return false;
  tag.opaque = rest.substr(0, end + 1);
  rest.remove_prefix(end + 1);
  return true;
}

// Skips to just past the next comma (or to the end).
void SkipPastComma(absl::string_view& rest) {
  size_t comma = rest.find(',');
  rest = comma == absl::string_view::npos ? absl::string_view() : rest.substr(comma + 1);
}

bool ListMatches(absl::string_view header, absl::string_view etag, bool strong) {
  if (IsEntityTagWildcard(header)) return true;
  absl::string_view candidate = etag;
  bool candidate_weak = false;
  if (candidate.size() >= 2 && candidate[0] == 'W' && candidate[1] == '/') {
    candidate_weak = true;
    candidate.remove_prefix(2);
  }
  if (strong && candidate_weak) return false;
  for (const EntityTag& tag : ParseEntityTagList(header)) {
    if (strong && tag.weak) continue;
    if (tag.opaque == candidate) return true;
  }
  return false;
}

}  // namespace

std::string StrongEtagFor(absl::string_view bytes) {
  const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
  return absl::StrFormat("\"%016x%016x\"", hash.high64, hash.low64);
}

std::vector<EntityTag> ParseEntityTagList(absl::string_view header) {
  std::vector<EntityTag> tags;
  absl::string_view rest = header;
  while (!rest.empty()) {
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (rest.empty()) break;
    if (rest[0] == ',') {
      rest.remove_prefix(1);
      continue;
    }
    EntityTag tag;
    if (ConsumeEntityTag(rest, tag)) {
      rest = absl::StripLeadingAsciiWhitespace(rest);
      if (rest.empty() || rest[0] == ',') {
        tags.push_back(tag);
        continue;
      }
    }
    SkipPastComma(rest);
  }
  return tags;
}

bool IsEntityTagWildcard(absl::string_view header) {
  return absl::StripAsciiWhitespace(header) == "*";
}

bool IfNoneMatchMatches(absl::string_view header, absl::string_view etag) {
  return ListMatches(header, etag, /*strong=*/false);
}

bool IfMatchMatches(absl::string_view header, absl::string_view etag) {
  return ListMatches(header, etag, /*strong=*/true);
}

}  // namespace larder

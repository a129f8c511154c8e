// libFuzzer target for the two things the SDK's HTTP layer builds from a request for others to
// read: the default cache key (client/src/http/key.cc) and the Cache-Status header
// (client/src/http/cache_status.cc, RFC 9211).
//
// A target of its own rather than more of cache_control_fuzz: that one reads its whole input as
// one header value, while these take a structured request and a CacheStatus; mixing the two
// would make each half of every input noise to the other and dilute both corpora.
//
// Input: 14 bytes of CacheStatus (flags, forward, fwd-status as int32 LE, ttl in ms as int64 LE),
// then lines: method, host, path (percent-decoded, as cpp-httplib hands it over, so it may hold
// any byte), query, Vary names (comma-separated), cache name, detail, then "name:value" headers.
// Aborts when:
//  - DefaultCacheKey is not 32 lowercase hex digits of the canonical text's hash (key.h);
//  - the canonical text does not decode back, from both ends, to the method (HEAD as GET), the
//    scheme, the lower-cased host, the path, the canonical query and each Vary name's joined
//    values, when method, host and header values hold no '\n' (HTTP forbids it there, not in a
//    decoded path):
//    so no two requests that differ in what counts share a key;
//  - the key changes with what must not count: HEAD for GET, the case of the host and of header
//    names, the order, case and repetition of Vary names, the order of differently named query
//    parameters, a
//    header not in Vary; or CanonicalQuery is not idempotent, or keeps an undeclared name;
//  - PathTag is not a valid tag (1-256 bytes), "path:" + path for paths up to 250 bytes, else
//    "path:#" + 32 hex digits;
//  - FormatCacheStatus gives a byte outside %x20-7E (a header value), or text that is not an
//    RFC 8941 List of one Item with the parameters set, in order, carrying the values given
//    (cache name and detail exactly when printable ASCII; ttl as whole seconds, floored, within
//    the Integer range +-999,999,999,999,999).
//
//   build-fuzz/tests/fuzz/http_key_fuzz tests/fuzz/corpus/http_key_fuzz \
//       -dict=tests/fuzz/http_key_fuzz.dict
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "larder/http/cache_status.h"
#include "larder/http/headers.h"
#include "larder/http/key.h"
#include "larder/http/request.h"
#include "tests/fuzz/structured_field.h"

namespace {

namespace http = larder::http;

void Fail(const char* what) {
  std::fprintf(stderr, "http_key_fuzz: %s\n", what);
  std::abort();
}

struct Input {
  http::CacheStatus status;
  http::Request request;
  std::vector<std::string> vary;
  std::string cache_name;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded, as cpp-httplib decodes a request's path.
std::string PercentDecoded(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

template <typename T>
T Little(const uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

http::CacheStatus StatusOf(const uint8_t* header) {
  http::CacheStatus status;
  status.hit = header[0] & 1;
  status.stored = header[0] & 2;
  status.collapsed = header[0] & 4;
  if (header[0] & 8) status.forward_status = Little<int32_t>(header + 2);
  if (header[0] & 16) {
    status.ttl = absl::Milliseconds(Little<int64_t>(header + 6));
    if (header[0] & 32) status.ttl = absl::InfiniteDuration();
    if (header[0] & 64) status.ttl = -absl::InfiniteDuration();
  }
  status.forward = static_cast<http::Forward>(header[1] % 6);
  return status;
}

constexpr size_t kStatusBytes = 14;

Input Parse(const uint8_t* data, size_t size) {
  Input input;
  input.status = StatusOf(data);
  const absl::string_view text(reinterpret_cast<const char*>(data) + kStatusBytes,
                               size - kStatusBytes);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  lines.resize(std::max<size_t>(lines.size(), 7));
  input.request.method = std::string(lines[0]);
  input.request.host = std::string(lines[1]);
  input.request.path = PercentDecoded(lines[2]);
  input.request.query = std::string(lines[3]);
  for (absl::string_view name : absl::StrSplit(lines[4], ',', absl::SkipEmpty())) {
    input.vary.emplace_back(absl::StripAsciiWhitespace(name));
  }
  input.cache_name = std::string(lines[5]);
  input.status.detail = std::string(lines[6]);
  for (size_t i = 7; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> field =
        absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    input.request.headers.Add(field.first, field.second);
  }
  return input;
}

std::vector<std::string> SortedVaryNames(const std::vector<std::string>& vary) {
  std::vector<std::string> names;
  for (const std::string& name : vary) names.push_back(absl::AsciiStrToLower(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

bool IsLowerHex(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The canonical text read back: the header line, method, host, then the path (which may hold
// '\n') up to the last 2 + |names| lines: the query, then one line per Vary name.
void CheckDecodesBack(const Input& input, const std::string& text) {
  const std::vector<std::string> names = SortedVaryNames(input.vary);
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  const size_t tail = names.size() + 2;  // The query, the names, and "" after the last '\n'.
  if (lines.size() < 5 + tail || !lines.back().empty()) Fail("canonical text has too few lines");
  const http::Request& request = input.request;
  const absl::string_view method =
      request.method == "HEAD" ? absl::string_view("GET") : absl::string_view(request.method);
  if (lines[0] != "larder-http-key/2" || lines[1] != method ||
      lines[2] != absl::AsciiStrToLower(request.scheme) ||
      lines[3] != absl::AsciiStrToLower(request.host)) {
    Fail("canonical text: header, method, scheme or host line is wrong");
  }
  const size_t query_line = lines.size() - tail;
  const std::vector<absl::string_view> path(lines.begin() + 4, lines.begin() + query_line);
  if (absl::StrJoin(path, "\n") != request.path) Fail("canonical text: the path is not the path");
  if (lines[query_line] != http::CanonicalQuery(request.query, std::nullopt)) {
    Fail("canonical text: the query line is not the canonical query");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string want = absl::StrCat(names[i], ":", request.headers.GetJoined(names[i]));
    if (lines[query_line + 1 + i] != want) Fail("canonical text: a Vary line is wrong");
  }
}

std::string KeyOf(const http::Request& request, const std::vector<std::string>& vary) {
  return http::DefaultCacheKey(request, http::KeyOptions{vary, std::nullopt});
}

// Whether no query parameter name repeats: only then does their order not count (the values of
// a repeated name keep their order in the key).
bool DistinctQueryNames(absl::string_view query) {
  const std::string canonical = http::CanonicalQuery(query, std::nullopt);  // Sorted by name.
  std::vector<absl::string_view> names;
  for (absl::string_view pair : absl::StrSplit(canonical, '&', absl::SkipEmpty())) {
    names.push_back(pair.substr(0, pair.find('=')));
  }
  return std::adjacent_find(names.begin(), names.end()) == names.end();
}

// Changes that must not change the key, each applied to a copy of the request or Vary list.
void CheckKeyInvariance(const Input& input, const std::string& key) {
  const http::Request& request = input.request;
  if (request.method == "GET" || request.method == "HEAD") {
    http::Request other = request;
    other.method = request.method == "GET" ? "HEAD" : "GET";
    if (KeyOf(other, input.vary) != key) Fail("HEAD and GET keys differ");
  }
  http::Request recased = request;
  recased.host = absl::AsciiStrToUpper(request.host);
  recased.headers = http::Headers();
  for (const auto& [name, value] : request.headers.fields()) {
    recased.headers.Add(absl::AsciiStrToUpper(name), value);
  }
  recased.headers.Add("X-Fuzz-Unlisted", "1");
  std::vector<absl::string_view> parts = absl::StrSplit(request.query, '&');
  if (DistinctQueryNames(request.query)) std::reverse(parts.begin(), parts.end());
  recased.query = absl::StrJoin(parts, "&");
  std::vector<std::string> vary(input.vary.rbegin(), input.vary.rend());
  for (const std::string& name : input.vary) vary.push_back(absl::AsciiStrToUpper(name));
  const bool unlisted = std::none_of(vary.begin(), vary.end(), [](const std::string& name) {
    return http::HeaderNameEquals(name, "X-Fuzz-Unlisted");
  });
  if (unlisted && KeyOf(recased, vary) != key) {
    Fail("the key depends on case, order, repetition or an unlisted header");
  }
}

void CheckDeclaredQuery(const Input& input) {
  const std::optional<std::vector<std::string>> keep = input.vary;
  const std::string all = http::CanonicalQuery(input.request.query, std::nullopt);
  const std::string kept = http::CanonicalQuery(input.request.query, keep);
  if (http::CanonicalQuery(all, keep) != kept) Fail("CanonicalQuery: filtering does not commute");
  if (http::CanonicalQuery(kept, keep) != kept) Fail("CanonicalQuery not idempotent");
  for (absl::string_view pair : absl::StrSplit(kept, '&', absl::SkipEmpty())) {
    const std::string name = PercentDecoded(pair.substr(0, pair.find('=')));
    if (std::find(input.vary.begin(), input.vary.end(), name) == input.vary.end()) {
      Fail("CanonicalQuery keeps an undeclared parameter");
    }
  }
}

void CheckPathTag(absl::string_view path) {
  const std::string tag = http::PathTag(path);
  if (tag.empty() || tag.size() > larder::limits::kMaxTagBytes) Fail("PathTag is not a valid tag");
  if (path.size() <= 250) {
    if (tag != absl::StrCat("path:", path)) Fail("PathTag of a short path is not path:<path>");
    return;
  }
  const std::string etag = larder::StrongEtagFor(path);
  if (tag != absl::StrCat("path:#", etag.substr(1, 32))) Fail("PathTag of a long path is wrong");
}

void CheckKey(const Input& input) {
  const std::string text = http::CanonicalRequestText(input.request, {input.vary, std::nullopt});
  const std::string key = KeyOf(input.request, input.vary);
  if (key.size() != 32 || !IsLowerHex(key)) Fail("the key is not 32 lowercase hex digits");
  if (absl::StrCat("\"", key, "\"") != larder::StrongEtagFor(text)) {
    Fail("the key is not the hash of the canonical text");
  }
  CheckDecodesBack(input, text);
  CheckKeyInvariance(input, key);
  CheckDeclaredQuery(input);
  CheckPathTag(input.request.path);
}

bool IsPrintable(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// ttl as RFC 9211 sends it: whole seconds, floored, within the Integer range.
int64_t ExpectedTtl(absl::Duration ttl) {
  constexpr int64_t kMaxInteger = 999'999'999'999'999;
  if (ttl == absl::InfiniteDuration()) return kMaxInteger;
  if (ttl == -absl::InfiniteDuration()) return -kMaxInteger;
  const int64_t ms = absl::ToInt64Milliseconds(ttl);
  const int64_t seconds = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
  return std::clamp(seconds, -kMaxInteger, kMaxInteger);
}

using larder::fuzz::SfItem;

SfItem Boolean() { return larder::fuzz::MakeSfItem(SfItem::Kind::kBoolean, "", 1); }
SfItem Integer(int64_t value) {
  return larder::fuzz::MakeSfItem(SfItem::Kind::kInteger, "", value);
}
SfItem Token(absl::string_view text) {
  return larder::fuzz::MakeSfItem(SfItem::Kind::kToken, std::string(text));
}

// Items compare by kind and value; a token and a string compare by text (either may carry it),
// and text that is not printable ASCII is not compared (it cannot be sent as it is).
bool Same(const SfItem& got, const SfItem& want) {
  using Kind = SfItem::Kind;
  const bool textual = got.kind == Kind::kToken || got.kind == Kind::kString;
  if (want.kind == Kind::kString) {
    return textual && (!IsPrintable(want.text) || got.text == want.text);
  }
  return got.kind == want.kind && got.text == want.text && got.integer == want.integer;
}

std::vector<larder::fuzz::SfParameter> ExpectedParameters(const http::CacheStatus& status) {
  std::vector<larder::fuzz::SfParameter> want;
  if (status.hit) want.push_back({"hit", Boolean()});
  if (status.forward != http::Forward::kNone) {
    want.push_back({"fwd", Token(http::ForwardName(status.forward))});
  }
  if (status.forward_status) want.push_back({"fwd-status", Integer(*status.forward_status)});
  if (status.ttl) want.push_back({"ttl", Integer(ExpectedTtl(*status.ttl))});
  if (status.stored) want.push_back({"stored", Boolean()});
  if (status.collapsed) want.push_back({"collapsed", Boolean()});
  if (!status.detail.empty()) {
    want.push_back({"detail", larder::fuzz::MakeSfItem(SfItem::Kind::kString, status.detail)});
  }
  return want;
}

void CheckCacheStatus(const Input& input) {
  const std::string value = http::FormatCacheStatus(input.cache_name, input.status);
  if (!IsPrintable(value)) Fail("Cache-Status holds a byte a header value cannot");
  const auto list = larder::fuzz::ParseSfList(value);
  if (!list.has_value() || list->size() != 1) Fail("Cache-Status is not a List of one Item");
  const larder::fuzz::SfMember& member = (*list)[0];
  if (!Same(member.item, larder::fuzz::MakeSfItem(SfItem::Kind::kString, input.cache_name))) {
    Fail("Cache-Status does not name the cache");
  }
  const std::vector<larder::fuzz::SfParameter> want = ExpectedParameters(input.status);
  if (member.parameters.size() != want.size()) Fail("Cache-Status parameters lost or added");
  for (size_t i = 0; i < want.size(); ++i) {
    if (member.parameters[i].key != want[i].key ||
        !Same(member.parameters[i].value, want[i].value)) {
      Fail("a Cache-Status parameter is not what was given");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kStatusBytes) return 0;
  const Input input = Parse(data, size);
  CheckKey(input);
  CheckCacheStatus(input);
  return 0;
}

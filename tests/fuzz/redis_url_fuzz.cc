// libFuzzer target for server/storage/redis/redis_url.h: ParseRedisUrl on arbitrary bytes (the
// value of --redis-url), with a password that must never reach a log line.
//
// The input is the URL; when it does not start with "redis", it is prefixed with "redis://" so
// the fuzzer spends its time past the scheme. Its userinfo is everything between "redis://" and
// the last '@' (a password may hold '/', as base64 passwords do); its password, what follows the
// first ':' of the userinfo (or all of it). Aborts when:
//  - an accepted URL has an empty host, a port outside 1-65535 or a negative database;
//  - Describe() does not parse back (as "redis://" + Describe()) to the same host, port and db;
//  - Describe() is not exactly "host:port/db" (the host bracketed when it holds ':'), so that it
//    never holds the password unless the password is a substring of that text;
//  - an error message contains the password, when that is not also a substring of the text
//    after the '@' or of what the message would say without any userinfo;
//  - the outcome depends on the password's letters and digits: the URL with each of them
//    replaced by another of the same kind (digit, hex letter, other letter) must give the same
//    error message, or the same host, port, db and Describe() and a password differing alike.
//
//   build-fuzz/tests/fuzz/redis_url_fuzz tests/fuzz/corpus/redis_url_fuzz \
//       -dict=tests/fuzz/redis_url_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/storage/redis/redis_url.h"

namespace {

using larder::storage::internal::ParseRedisUrl;
using larder::storage::internal::RedisEndpoint;

constexpr absl::string_view kScheme = "redis://";

void Fail(const char* what) {
  std::fprintf(stderr, "redis_url_fuzz: %s\n", what);
  std::abort();
}

// Where the password sits in `url`: [begin, end), empty when the URL has no userinfo.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

Span PasswordSpan(absl::string_view url) {
  if (!absl::StartsWith(url, kScheme)) return {};
  const size_t at = url.rfind('@');
  if (at == absl::string_view::npos || at < kScheme.size()) return {};
  const absl::string_view user_info = url.substr(kScheme.size(), at - kScheme.size());
  const size_t colon = user_info.find(':');
  const size_t begin = kScheme.size() + (colon == absl::string_view::npos ? 0 : colon + 1);
  return {begin, at};
}

// Another byte of the same kind, so that escapes, separators and emptiness stay as they were.
char Substitute(char c) {
  if (absl::ascii_isdigit(static_cast<unsigned char>(c))) return c == '9' ? '0' : c + 1;
  if (c >= 'a' && c <= 'f') return c == 'f' ? 'a' : c + 1;
  if (c >= 'A' && c <= 'F') return c == 'F' ? 'A' : c + 1;
  if (c >= 'g' && c <= 'z') return c == 'z' ? 'g' : c + 1;
  if (c >= 'G' && c <= 'Z') return c == 'Z' ? 'G' : c + 1;
  return c;
}

std::string WithSubstitutedPassword(absl::string_view url, Span span) {
  std::string changed(url);
  for (size_t i = span.begin; i < span.end; ++i) changed[i] = Substitute(changed[i]);
  return changed;
}

// True when `text` reveals `secret`: it contains it, and `secret` is not also found in the
// innocent text the message may legitimately echo.
bool Reveals(absl::string_view text, absl::string_view secret, absl::string_view innocent) {
  return !secret.empty() && absl::StrContains(text, secret) && !absl::StrContains(innocent, secret);
}

// "host:port/db", the host in brackets when it holds ':' (redis_url.h): nothing but the fields.
std::string DocumentedDescription(const RedisEndpoint& endpoint) {
  const bool brackets = absl::StrContains(endpoint.host, ':');
  return absl::StrCat(brackets ? "[" : "", endpoint.host, brackets ? "]" : "", ":", endpoint.port,
                      "/", endpoint.db);
}

void CheckAccepted(const RedisEndpoint& endpoint) {
  if (endpoint.host.empty()) Fail("accepted without a host");
  if (endpoint.port < 1 || endpoint.port > 65535) Fail("accepted a port outside 1-65535");
  if (endpoint.db < 0) Fail("accepted a negative database");
  const std::string described = endpoint.Describe();
  // Nothing but host, port and db: the password shows only where it is a substring of those.
  if (described != DocumentedDescription(endpoint)) Fail("Describe() is not host:port/db");
  absl::StatusOr<RedisEndpoint> again = ParseRedisUrl(absl::StrCat(kScheme, described));
  if (!again.ok() || again->host != endpoint.host || again->port != endpoint.port ||
      again->db != endpoint.db) {
    Fail("Describe() does not parse back to the same endpoint");
  }
}

void CheckIndependentOfPassword(absl::string_view url, Span span,
                                const absl::StatusOr<RedisEndpoint>& parsed) {
  if (span.begin == span.end) return;
  const std::string changed_url = WithSubstitutedPassword(url, span);
  const absl::StatusOr<RedisEndpoint> changed = ParseRedisUrl(changed_url);
  if (parsed.ok() != changed.ok()) Fail("the password's letters decide acceptance");
  if (!parsed.ok()) {
    if (parsed.status() != changed.status()) Fail("an error message depends on the password");
    return;
  }
  if (parsed->host != changed->host || parsed->port != changed->port || parsed->db != changed->db ||
      parsed->Describe() != changed->Describe()) {
    Fail("host, port, db or Describe() depend on the password");
  }
  if (parsed->password.size() != changed->password.size()) Fail("the password was misread");
}

// What an error message may say without revealing anything: the text after the userinfo, and
// the messages of the same URL without userinfo and of URLs whose userinfo alone is wrong.
std::string InnocentText(absl::string_view after_at) {
  std::string innocent(after_at);
  for (const std::string& url : {absl::StrCat(kScheme, after_at), std::string("redis://%:p@h"),
                                 std::string("redis://u:@h")}) {
    absl::StrAppend(&innocent, "\n", ParseRedisUrl(url).status().message());
  }
  return innocent;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string url = absl::StartsWithIgnoreCase(input, "redis") ? std::string(input)
                                                                     : absl::StrCat(kScheme, input);
  const Span span = PasswordSpan(url);
  const absl::string_view password =
      absl::string_view(url).substr(span.begin, span.end - span.begin);
  const absl::string_view after_at =
      span.end == 0 ? absl::string_view(url) : absl::string_view(url).substr(span.end + 1);
  const absl::StatusOr<RedisEndpoint> parsed = ParseRedisUrl(url);
  if (parsed.ok()) {
    CheckAccepted(*parsed);
  } else if (Reveals(parsed.status().message(), password, InnocentText(after_at))) {
    Fail("an error message shows the password");
  }
  CheckIndependentOfPassword(url, span, parsed);
  return 0;
}

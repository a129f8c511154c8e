// libFuzzer target for server/storage/redis/redis_url.h: ParseRedisUrl and ParseRedisSeeds on
// arbitrary bytes (the value of --redis-url), with a password that must never reach a log line.
//
// The input is the URL; when it does not start with "redis", it is prefixed with "redis://" so
// the fuzzer spends its time past the scheme. Its userinfo is everything between "redis://" and
// the last '@' (a password may hold '/' and ',', as they are); its password, what follows the
// first ':' of the userinfo (or all of it). Aborts when:
//  - an accepted endpoint (ParseRedisUrl's, or any of ParseRedisSeeds') has an empty host, a port
//    outside 1-65535 or a negative database;
//  - Describe() does not parse back (as "redis://" + Describe()) to the same host, port and db;
//  - Describe() is not exactly "host:port/db" (the host bracketed when it holds ':'), so that it
//    never holds the password unless the password is a substring of that text;
//  - ParseRedisSeeds accepts no endpoint or more than kMaxRedisSeeds, endpoints that differ in
//    db, user or password, or a list whose "host:port" elements, joined by ',', do not parse back
//    to the same hosts, ports and db;
//  - the two parsers disagree: when ParseRedisUrl accepts, ParseRedisSeeds must give exactly that
//    endpoint; when ParseRedisSeeds gives one endpoint, ParseRedisUrl must accept; when it gives
//    several, ParseRedisUrl must refuse them as "several hosts";
//  - an error is not kInvalidArgument starting with "redis-url: ";
//  - an error message of either parser contains the password, when that is not also a substring
//    of the text after the '@' or of what the messages would say without any userinfo;
//  - the outcome depends on the password's letters and digits: the URL with each of them
//    replaced by another of the same kind (digit, hex letter, other letter) must give, from each
//    parser, the same error message, or the same endpoints (host, port, db and Describe()) with
//    passwords differing alike.
//
//   build-fuzz/tests/fuzz/redis_url_fuzz tests/fuzz/corpus/redis_url_fuzz \
//       -dict=tests/fuzz/redis_url_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/storage/redis/redis_url.h"

namespace {

using larder::storage::internal::kMaxRedisSeeds;
using larder::storage::internal::ParseRedisSeeds;
using larder::storage::internal::ParseRedisUrl;
using larder::storage::internal::RedisEndpoint;

using Seeds = std::vector<RedisEndpoint>;

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

// "host:port", the host in brackets when it holds ':': one element of a seed list.
std::string HostPort(const RedisEndpoint& endpoint) {
  const bool brackets = absl::StrContains(endpoint.host, ':');
  return absl::StrCat(brackets ? "[" : "", endpoint.host, brackets ? "]" : "", ":", endpoint.port);
}

// "host:port/db", the host in brackets when it holds ':' (redis_url.h): nothing but the fields.
std::string DocumentedDescription(const RedisEndpoint& endpoint) {
  return absl::StrCat(HostPort(endpoint), "/", endpoint.db);
}

bool SameEndpoint(const RedisEndpoint& a, const RedisEndpoint& b) {
  return a.host == b.host && a.port == b.port && a.db == b.db && a.user == b.user &&
         a.password == b.password;
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

// The seeds share db, user and password, and their "host:port" elements joined by ',' parse back
// to the same hosts, ports and db.
void CheckSeedsAccepted(const Seeds& seeds) {
  if (seeds.empty() || seeds.size() > static_cast<size_t>(kMaxRedisSeeds)) {
    Fail("ParseRedisSeeds accepted no endpoint or more than kMaxRedisSeeds");
  }
  std::string list;
  for (const RedisEndpoint& seed : seeds) {
    CheckAccepted(seed);
    if (seed.db != seeds[0].db || seed.user != seeds[0].user ||
        seed.password != seeds[0].password) {
      Fail("the seeds differ in db, user or password");
    }
    absl::StrAppend(&list, list.empty() ? "" : ",", HostPort(seed));
  }
  const absl::StatusOr<Seeds> again =
      ParseRedisSeeds(absl::StrCat(kScheme, list, "/", seeds[0].db));
  bool same = again.ok() && again->size() == seeds.size();
  for (size_t i = 0; same && i < seeds.size(); ++i) {
    same = (*again)[i].host == seeds[i].host && (*again)[i].port == seeds[i].port &&
           (*again)[i].db == seeds[i].db;
  }
  if (!same) Fail("the seeds' host:port list does not parse back to the same endpoints");
}

// ParseRedisSeeds is ParseRedisUrl for one host, and ParseRedisUrl refuses several as such.
void CheckParsersAgree(const absl::StatusOr<RedisEndpoint>& parsed,
                       const absl::StatusOr<Seeds>& seeds) {
  if (parsed.ok()) {
    if (!seeds.ok() || seeds->size() != 1 || !SameEndpoint(seeds->front(), *parsed)) {
      Fail("ParseRedisSeeds does not give the one endpoint ParseRedisUrl accepts");
    }
  } else if (seeds.ok() && seeds->size() == 1) {
    Fail("ParseRedisSeeds accepts one host that ParseRedisUrl refuses");
  } else if (seeds.ok() &&
             !absl::StartsWith(parsed.status().message(), "redis-url: several hosts")) {
    Fail("ParseRedisUrl refuses a seed list without saying it holds several hosts");
  }
}

void CheckErrorForm(const absl::Status& status) {
  if (status.ok()) return;
  if (status.code() != absl::StatusCode::kInvalidArgument ||
      !absl::StartsWith(status.message(), "redis-url: ")) {
    Fail("an error is not kInvalidArgument \"redis-url: ...\"");
  }
}

// Endpoints parsed from two URLs whose passwords differ only in their letters and digits.
void CheckAlike(const RedisEndpoint& a, const RedisEndpoint& b) {
  if (a.host != b.host || a.port != b.port || a.db != b.db || a.Describe() != b.Describe()) {
    Fail("host, port, db or Describe() depend on the password");
  }
  if (a.password.size() != b.password.size()) Fail("the password was misread");
}

void CheckAlike(const Seeds& a, const Seeds& b) {
  if (a.size() != b.size()) Fail("the number of seeds depends on the password");
  for (size_t i = 0; i < a.size(); ++i) CheckAlike(a[i], b[i]);
}

// `parsed` and `changed` come from the same parser, given the URL and the URL with its
// password's letters and digits substituted.
template <typename T>
void CheckIndependentOfPassword(const absl::StatusOr<T>& parsed, const absl::StatusOr<T>& changed) {
  if (parsed.ok() != changed.ok()) Fail("the password's letters decide acceptance");
  if (!parsed.ok()) {
    if (parsed.status() != changed.status()) Fail("an error message depends on the password");
    return;
  }
  CheckAlike(*parsed, *changed);
}

// What an error message may say without revealing anything: the text after the userinfo, and
// the messages, from either parser, of the same URL without userinfo and of URLs whose userinfo
// alone is wrong.
std::string InnocentText(absl::string_view after_at) {
  std::string innocent(after_at);
  for (const std::string& url : {absl::StrCat(kScheme, after_at), std::string("redis://%:p@h"),
                                 std::string("redis://u:@h")}) {
    absl::StrAppend(&innocent, "\n", ParseRedisUrl(url).status().message(), "\n",
                    ParseRedisSeeds(url).status().message());
  }
  return innocent;
}

void CheckNotRevealed(const absl::Status& status, absl::string_view password,
                      absl::string_view after_at) {
  if (!status.ok() && Reveals(status.message(), password, InnocentText(after_at))) {
    Fail("an error message shows the password");
  }
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
  const absl::StatusOr<Seeds> seeds = ParseRedisSeeds(url);
  if (parsed.ok()) CheckAccepted(*parsed);
  if (seeds.ok()) CheckSeedsAccepted(*seeds);
  CheckParsersAgree(parsed, seeds);
  CheckErrorForm(parsed.status());
  CheckErrorForm(seeds.status());
  CheckNotRevealed(parsed.status(), password, after_at);
  CheckNotRevealed(seeds.status(), password, after_at);
  if (span.begin != span.end) {
    const std::string changed_url = WithSubstitutedPassword(url, span);
    CheckIndependentOfPassword(parsed, ParseRedisUrl(changed_url));
    CheckIndependentOfPassword(seeds, ParseRedisSeeds(changed_url));
  }
  return 0;
}

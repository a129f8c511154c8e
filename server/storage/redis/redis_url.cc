#include "server/storage/redis/redis_url.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace larder::storage::internal {
namespace {

// The grammars the two parsers name in their messages.
constexpr absl::string_view kUrlForm = "redis://[user:password@]host:port/db";
constexpr absl::string_view kSeedsForm = "redis://[user:password@]host:port[,host:port...]/db";

// What is wrong with a URL, bare: UrlError turns it into the message the operator sees.
absl::Status Problem(absl::string_view what) { return absl::InvalidArgumentError(what); }

// "redis-url: <what> (expected <form>)".
absl::Status UrlError(const absl::Status& problem, absl::string_view form) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis-url: ", problem.message(), " (expected ", form, ")"));
}

int HexValue(char c) {
  if (absl::ascii_isdigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; false on a malformed escape.
bool PercentDecode(absl::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int high = HexValue(in[i + 1]), low = HexValue(in[i + 2]);
    if (high < 0 || low < 0) return false;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

absl::Status ParseUserInfo(absl::string_view user_info, RedisEndpoint& endpoint) {
  const size_t colon = user_info.find(':');
  absl::string_view user = colon == absl::string_view::npos ? "" : user_info.substr(0, colon);
  absl::string_view password =
      colon == absl::string_view::npos ? user_info : user_info.substr(colon + 1);
  if (!PercentDecode(user, endpoint.user) || !PercentDecode(password, endpoint.password)) {
    return Problem("malformed %-escape in the user or password");
  }
  if (endpoint.password.empty()) return Problem("a user needs a password");
  return absl::OkStatus();
}

absl::Status ParseHostPort(absl::string_view host_port, RedisEndpoint& endpoint) {
  absl::string_view port_text;
  if (absl::ConsumePrefix(&host_port, "[")) {
    const size_t close = host_port.find(']');
    if (close == absl::string_view::npos) return Problem("unclosed '[' in the host");
    endpoint.host = std::string(host_port.substr(0, close));
    absl::string_view rest = host_port.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return Problem("junk after ']'");
    port_text = rest;
  } else {
    const size_t colon = host_port.rfind(':');
    endpoint.host = std::string(host_port.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = host_port.substr(colon + 1);
    if (colon != absl::string_view::npos && port_text.empty()) return Problem("empty port");
  }
  if (endpoint.host.empty()) return Problem("missing host");
  if (endpoint.host.find_first_of("[]") != std::string::npos) {
    return Problem("'[' or ']' inside the host (only a whole IPv6 address goes in brackets)");
  }
  if (port_text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(port_text, &endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    return Problem(absl::StrCat("port \"", port_text, "\" is not a number in 1-65535"));
  }
  return absl::OkStatus();
}

// The parts of a URL that all its hosts share, and the text of the hosts.
struct UrlParts {
  RedisEndpoint shared;     // User, password and db; no host yet.
  absl::string_view hosts;  // "host:port[,host:port...]", a view into the URL.
};

absl::StatusOr<UrlParts> SplitUrl(absl::string_view url) {
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return Problem("rediss:// (TLS) is not supported by this build");
  }
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) return Problem("must start with redis://");
  UrlParts parts;
  // The user information ends at the last '@', before any '/' or ',': a password may hold '/'
  // (base64 passwords do) or ',', and must never be read as, or echoed with, the database or a
  // host.
  const size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::Status user_info = ParseUserInfo(rest.substr(0, at), parts.shared);
    if (!user_info.ok()) return user_info;
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  parts.hosts = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    absl::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty() && (!absl::SimpleAtoi(db_text, &parts.shared.db) || parts.shared.db < 0)) {
      return Problem(absl::StrCat("database \"", db_text, "\" is not a non-negative number"));
    }
  }
  return parts;
}

// Element `index` (0-based) of a list of `count` hosts into `endpoint`. The problem names the
// element by its position when there are several, and is ParseRedisUrl's when there is one.
absl::Status ParseSeed(absl::string_view host_port, size_t index, size_t count,
                       RedisEndpoint& endpoint) {
  if (count == 1) return ParseHostPort(host_port, endpoint);
  const std::string position = absl::StrCat("host ", index + 1, " of ", count);
  if (host_port.empty()) {
    return Problem(absl::StrCat(position, " is empty (a comma too many?)"));
  }
  absl::Status host = ParseHostPort(host_port, endpoint);
  if (!host.ok()) return Problem(absl::StrCat(position, ": ", host.message()));
  return absl::OkStatus();
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  const bool ipv6 = absl::StrContains(host, ':');
  return absl::StrCat(ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port, "/", db);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  absl::StatusOr<UrlParts> parts = SplitUrl(url);
  if (!parts.ok()) return UrlError(parts.status(), kUrlForm);
  if (absl::StrContains(parts->hosts, ',')) {
    return UrlError(
        Problem("several hosts, where only one is accepted; a comma-separated seed list is for "
                "a Redis Cluster"),
        kUrlForm);
  }
  RedisEndpoint endpoint = std::move(parts->shared);
  absl::Status host_port = ParseHostPort(parts->hosts, endpoint);
  if (!host_port.ok()) return UrlError(host_port, kUrlForm);
  return endpoint;
}

absl::StatusOr<std::vector<RedisEndpoint>> ParseRedisSeeds(absl::string_view url) {
  absl::StatusOr<UrlParts> parts = SplitUrl(url);
  if (!parts.ok()) return UrlError(parts.status(), kSeedsForm);
  // Counted before splitting, so that a long list costs no allocation before it is refused.
  const size_t count =
      static_cast<size_t>(std::count(parts->hosts.begin(), parts->hosts.end(), ',')) + 1;
  if (count > static_cast<size_t>(kMaxRedisSeeds)) {
    return UrlError(Problem(absl::StrCat(count, " hosts, more than the limit of ", kMaxRedisSeeds)),
                    kSeedsForm);
  }
  std::vector<RedisEndpoint> endpoints;
  endpoints.reserve(count);
  for (absl::string_view host_port : absl::StrSplit(parts->hosts, ',')) {
    RedisEndpoint endpoint = parts->shared;
    absl::Status seed = ParseSeed(host_port, endpoints.size(), count, endpoint);
    if (!seed.ok()) return UrlError(seed, kSeedsForm);
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

}  // namespace larder::storage::internal

#include "server/storage/redis/redis_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace larder::storage::internal {
namespace {

absl::Status UrlError(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis-url: ", what, " (expected redis://[user:password@]host:port/db)"));
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
    return UrlError("malformed %-escape in the user or password");
  }
  if (endpoint.password.empty()) return UrlError("a user needs a password");
  return absl::OkStatus();
}

absl::Status ParseHostPort(absl::string_view host_port, RedisEndpoint& endpoint) {
  absl::string_view port_text;
  if (absl::ConsumePrefix(&host_port, "[")) {
    const size_t close = host_port.find(']');
    if (close == absl::string_view::npos) return UrlError("unclosed '[' in the host");
    endpoint.host = std::string(host_port.substr(0, close));
    absl::string_view rest = host_port.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return UrlError("junk after ']'");
    port_text = rest;
  } else {
    const size_t colon = host_port.rfind(':');
    endpoint.host = std::string(host_port.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = host_port.substr(colon + 1);
    if (colon != absl::string_view::npos && port_text.empty()) return UrlError("empty port");
  }
  if (endpoint.host.empty()) return UrlError("missing host");
  if (endpoint.host.find_first_of("[]") != std::string::npos) {
    return UrlError("'[' or ']' inside the host (only a whole IPv6 address goes in brackets)");
  }
  if (port_text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(port_text, &endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    return UrlError(absl::StrCat("port \"", port_text, "\" is not a number in 1-65535"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  const bool ipv6 = absl::StrContains(host, ':');
  return absl::StrCat(ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port, "/", db);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return UrlError("rediss:// (TLS) is not supported by this build");
  }
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) return UrlError("must start with redis://");
  RedisEndpoint endpoint;
  // The user information ends at the last '@', before any '/': a password may hold '/' (base64
  // passwords do), and must never be read as, or echoed with, the database.
  const size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::Status user_info = ParseUserInfo(rest.substr(0, at), endpoint);
    if (!user_info.ok()) return user_info;
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  const absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    absl::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty() && (!absl::SimpleAtoi(db_text, &endpoint.db) || endpoint.db < 0)) {
      return UrlError(absl::StrCat("database \"", db_text, "\" is not a non-negative number"));
    }
  }
  absl::Status host_port = ParseHostPort(authority, endpoint);
  if (!host_port.ok()) return host_port;
  return endpoint;
}

}  // namespace larder::storage::internal

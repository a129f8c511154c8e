#include "proxy/proxy_options.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"

namespace larder::proxy {
namespace {

absl::Status Invalid(absl::string_view problem, absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(problem, ", got \"", text, "\""));
}

// "host:port" or "[v6]:port"; the port 0-65535.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  constexpr absl::string_view kProblem = "must be host:port";
  HostPort parsed;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close == 0) return Invalid(kProblem, text);
    parsed.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return Invalid(kProblem, text);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) return Invalid(kProblem, text);
    parsed.host = std::string(rest.substr(0, colon));
    if (absl::StrContains(parsed.host, ':')) return Invalid("must be host:port ([v6]:port)", text);
    rest.remove_prefix(colon + 1);
  }
  if (rest.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(rest[0])) ||
      !absl::SimpleAtoi(rest, &parsed.port) || parsed.port > 65535) {
    return Invalid(absl::StrCat(kProblem, " with a port 0-65535"), text);
  }
  if (absl::StrContains(parsed.host, ' ')) return Invalid(kProblem, text);
  return parsed;
}

// http://host[:port][/]: no other scheme, no user information, path or query.
absl::StatusOr<HostPort> ParseUpstream(absl::string_view text) {
  constexpr absl::string_view kProblem = "must be http://host:port (no path)";
  absl::string_view rest = text;
  if (!absl::StartsWithIgnoreCase(rest, "http://")) return Invalid(kProblem, text);
  rest.remove_prefix(7);
  absl::ConsumeSuffix(&rest, "/");
  if (rest.empty() || rest.find_first_of("/?#@ ") != absl::string_view::npos) {
    return Invalid(kProblem, text);
  }
  const bool bracketed = absl::StartsWith(rest, "[");
  const size_t colon = rest.rfind(':');
  const bool has_port = colon != absl::string_view::npos && (!bracketed || rest[colon - 1] == ']');
  auto parsed = ParseHostPort(has_port ? rest : absl::StrCat(rest, ":80"));
  if (!parsed.ok() || parsed->port == 0) return Invalid(kProblem, text);
  return parsed;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return Invalid("must be a positive duration (e.g. 500ms, 2s, 1m)", text);
  }
  return duration;
}

// A non-negative count of bytes with an optional binary suffix: 65536, 64K, 64KB, 64KiB, 8M...
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  constexpr absl::string_view kProblem = "must be a size (e.g. 65536, 64KiB, 8MiB)";
  absl::string_view digits = absl::StripAsciiWhitespace(text);
  size_t end = 0;
  while (end < digits.size() && absl::ascii_isdigit(static_cast<unsigned char>(digits[end]))) {
    ++end;
  }
  const std::string suffix = absl::AsciiStrToLower(digits.substr(end));
  int shift = 0;
  if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
  if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
  if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
  int64_t count = 0;
  if (end == 0 || (shift == 0 && !suffix.empty() && suffix != "b") ||
      !absl::SimpleAtoi(digits.substr(0, end), &count) ||
      count > (std::numeric_limits<int64_t>::max() >> shift)) {
    return Invalid(kProblem, text);
  }
  return count << shift;
}

absl::StatusOr<int> ParseCount(absl::string_view text, int low, int high) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < low || value > high) {
    return Invalid(absl::StrCat("must be a whole number from ", low, " to ", high), text);
  }
  return value;
}

absl::Status AtLeast(int64_t value, int64_t least, absl::string_view text) {
  if (value >= least) return absl::OkStatus();
  return Invalid(absl::StrCat("must be at least ", least, " bytes"), text);
}

std::string FormatByteSize(int64_t bytes) {
  for (auto [shift, unit] : {std::pair{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}) {
    if (bytes > 0 && bytes % (int64_t{1} << shift) == 0) {
      return absl::StrCat(bytes >> shift, unit);
    }
  }
  return absl::StrCat(bytes);
}

// One flag: how its value is shown and how a text sets it.
struct FlagRule {
  const char* name;
  std::function<std::string(const ProxyOptions&)> format;
  std::function<absl::Status(absl::string_view, ProxyOptions&)> parse;
};

FlagRule Text(const char* name, std::string ProxyOptions::*field, bool required) {
  return {name, [field](const ProxyOptions& o) { return o.*field; },
          [field, required](absl::string_view text, ProxyOptions& o) {
            if (required && text.empty()) return absl::InvalidArgumentError("must not be empty");
            o.*field = std::string(text);
            return absl::OkStatus();
          }};
}

FlagRule Duration(const char* name, absl::Duration ProxyOptions::*field) {
  return {name, [field](const ProxyOptions& o) { return absl::FormatDuration(o.*field); },
          [field](absl::string_view text, ProxyOptions& o) {
            LARDER_ASSIGN_OR_RETURN(o.*field, ParsePositiveDuration(text));
            return absl::OkStatus();
          }};
}

FlagRule Bytes(const char* name, int64_t ProxyOptions::*field, int64_t least) {
  return {name, [field](const ProxyOptions& o) { return FormatByteSize(o.*field); },
          [field, least](absl::string_view text, ProxyOptions& o) {
            LARDER_ASSIGN_OR_RETURN(const int64_t bytes, ParseByteSize(text));
            LARDER_RETURN_IF_ERROR(AtLeast(bytes, least, text));
            o.*field = bytes;
            return absl::OkStatus();
          }};
}

FlagRule Count(const char* name, int ProxyOptions::*field) {
  return {name, [field](const ProxyOptions& o) { return absl::StrCat(o.*field); },
          [field](absl::string_view text, ProxyOptions& o) {
            LARDER_ASSIGN_OR_RETURN(o.*field, ParseCount(text, 1, 4096));
            return absl::OkStatus();
          }};
}

FlagRule Endpoint(const char* name, HostPort ProxyOptions::*field) {
  return {name, [field](const ProxyOptions& o) { return FormatHostPort(o.*field); },
          [field](absl::string_view text, ProxyOptions& o) {
            LARDER_ASSIGN_OR_RETURN(o.*field, ParseHostPort(text));
            return absl::OkStatus();
          }};
}

std::vector<FlagRule> MakeRules() {
  using O = ProxyOptions;
  return {
      Endpoint("listen", &O::listen),
      {"upstream", [](const O& o) { return UpstreamUrl(o); },
       [](absl::string_view text, O& o) {
         LARDER_ASSIGN_OR_RETURN(o.upstream, ParseUpstream(text));
         return absl::OkStatus();
       }},
      Text("larder", &O::larder, /*required=*/true),
      Text("config", &O::config, /*required=*/false),
      {"admin_listen",
       [](const O& o) { return o.admin_listen ? FormatHostPort(*o.admin_listen) : ""; },
       [](absl::string_view text, O& o) {
         if (text.empty()) {
           o.admin_listen.reset();
           return absl::OkStatus();
         }
         LARDER_ASSIGN_OR_RETURN(o.admin_listen, ParseHostPort(text));
         return absl::OkStatus();
       }},
      Count("threads", &O::threads),
      {"event_loops", [](const O& o) { return absl::StrCat(o.event_loops); },
       [](absl::string_view text, O& o) {
         LARDER_ASSIGN_OR_RETURN(o.event_loops, ParseCount(text, 0, 64));
         return absl::OkStatus();
       }},
      {"lookup_batch_keys", [](const O& o) { return absl::StrCat(o.lookup_batch_keys); },
       [](absl::string_view text, O& o) {
         LARDER_ASSIGN_OR_RETURN(o.lookup_batch_keys, ParseCount(text, 0, limits::kMaxBatchItems));
         return absl::OkStatus();
       }},
      Count("upstream_connections", &O::upstream_connections),
      Duration("upstream_connect_timeout", &O::upstream_connect_timeout),
      Duration("upstream_timeout", &O::upstream_timeout),
      Duration("larder_deadline", &O::larder_deadline),
      Bytes("max_request_body", &O::max_request_body, 0),
      Bytes("max_response_body", &O::max_response_body, 1),
      Bytes("max_header_bytes", &O::max_header_bytes, 1024),
      {"near_cache_bytes", [](const O& o) { return FormatByteSize(o.near_cache_bytes); },
       [](absl::string_view text, O& o) {
         LARDER_ASSIGN_OR_RETURN(o.near_cache_bytes, ParseByteSize(text));
         if (o.near_cache_bytes == 0) return absl::OkStatus();
         return AtLeast(o.near_cache_bytes, int64_t{64} << 10, text);
       }},
      Text("auth_token_file", &O::auth_token_file, /*required=*/false),
  };
}

const std::vector<FlagRule>& Rules() {
  static const auto* rules = new std::vector<FlagRule>(MakeRules());
  return *rules;
}

std::string DashedName(absl::string_view name) {
  return absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}));
}

}  // namespace

const std::vector<std::string>& ProxyFlagNames() {
  static const auto* names = [] {
    auto* list = new std::vector<std::string>();
    for (const FlagRule& rule : Rules()) list->push_back(rule.name);
    return list;
  }();
  return *names;
}

std::string EnvironmentVariableFor(absl::string_view flag_name) {
  return absl::StrCat("LARDER_PROXY_", absl::AsciiStrToUpper(flag_name));
}

std::string DefaultFlagText(absl::string_view flag_name) {
  for (const FlagRule& rule : Rules()) {
    if (flag_name == rule.name) return rule.format(ProxyOptions());
  }
  return "";
}

absl::StatusOr<ProxyOptions> ResolveProxyOptions(const FlagValues& command_line,
                                                 const FlagValues& environment) {
  const std::vector<std::string>& names = ProxyFlagNames();
  for (const auto& given : command_line) {
    if (std::find(names.begin(), names.end(), given.first) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", DashedName(given.first)));
    }
  }
  ProxyOptions options;
  for (const FlagRule& rule : Rules()) {
    std::string source = DashedName(rule.name);
    auto given = command_line.find(rule.name);
    if (given == command_line.end()) {
      source = EnvironmentVariableFor(rule.name);
      given = environment.find(source);
      if (given == environment.end()) continue;
    }
    if (absl::Status parsed = rule.parse(given->second, options); !parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", parsed.message()));
    }
  }
  return options;
}

std::string FormatHostPort(const HostPort& endpoint) {
  if (absl::StrContains(endpoint.host, ':')) {
    return absl::StrCat("[", endpoint.host, "]:", endpoint.port);
  }
  return absl::StrCat(endpoint.host, ":", endpoint.port);
}

std::string UpstreamUrl(const ProxyOptions& options) {
  return absl::StrCat("http://", FormatHostPort(options.upstream));
}

std::string StartupLine(const ProxyOptions& options, int port, int admin_port, size_t routes) {
  const std::string routes_text =
      options.config.empty()
          ? std::string("default routes")
          : absl::StrCat(routes, routes == 1 ? " route" : " routes", " from ", options.config);
  const std::string admin =
      options.admin_listen.has_value()
          ? absl::StrCat("admin on ", FormatHostPort({options.admin_listen->host, admin_port}))
          : std::string("admin off");
  return absl::StrCat("larder-proxy: listening on ", FormatHostPort({options.listen.host, port}),
                      ", forwarding to ", UpstreamUrl(options), ", caching in larder at ",
                      options.larder, " (", routes_text, "); ", admin);
}

}  // namespace larder::proxy

#include "proxy/routes_config.h"

#include <yaml.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"
#include "larder/http/headers.h"
#include "proxy/yaml_document.h"
#include "re2/re2.h"

namespace larder::proxy {
namespace {

using internal::YamlDocument;
using internal::YamlField;
using internal::YamlReader;
using internal::YamlValue;

constexpr int kMaxNestingDepth = 8;
constexpr absl::Duration kDefaultMaxTtl = absl::Hours(1);
constexpr absl::Duration kMaxLeaseWait = absl::Milliseconds(limits::kMaxLeaseTtlMillis);
// What one route's RE2 may use (its compiled program and the caches of its matchers).
constexpr int64_t kMaxRegexMemory = int64_t{1} << 20;

// A sequence of HTTP tokens; `kind` ("header", "cookie") names them in messages.
absl::StatusOr<std::vector<std::string>> ReadTokens(const YamlReader& reader,
                                                    const YamlValue& value,
                                                    absl::string_view kind) {
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlValue> items, reader.Sequence(value));
  std::vector<std::string> tokens;
  for (const YamlValue& item : items) {
    LARDER_ASSIGN_OR_RETURN(std::string text, reader.NonEmptyString(item));
    if (!http::IsToken(text)) {
      return reader.Error(item, absl::StrCat(YamlReader::Quote(text), " is not a ", kind,
                                             " name (letters, digits and !#$%&'*+-.^_`|~)"));
    }
    if (kind == "header" && text == "*") {
      return reader.Error(item, "'*' would make every request a miss: use cache: false");
    }
    tokens.push_back(std::move(text));
  }
  return tokens;
}

absl::StatusOr<absl::Duration> ReadPositiveDuration(const YamlReader& reader,
                                                    const YamlValue& value) {
  LARDER_ASSIGN_OR_RETURN(absl::Duration duration, reader.Duration(value));
  if (duration == absl::ZeroDuration()) return reader.Error(value, "must be positive");
  return duration;
}

// A route being read.
struct RouteDraft {
  ProxyRoute route;
  bool has_name = false;
  std::optional<YamlValue> prefix;
  std::optional<YamlValue> regex;
  std::optional<YamlValue> default_ttl;
};

absl::Status SetName(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.name, reader.NonEmptyString(value));
  draft.has_name = true;
  return absl::OkStatus();
}

absl::Status SetPrefix(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(std::string prefix, reader.String(value));
  if (!absl::StartsWith(prefix, "/")) {
    return reader.Error(value, absl::StrCat(YamlReader::Quote(prefix), " does not start with '/'"));
  }
  draft.route.prefix = std::move(prefix);
  draft.prefix = value;
  return absl::OkStatus();
}

absl::Status SetRegex(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(absl::string_view pattern, reader.Scalar(value, "a string"));
  if (pattern.empty())
    return reader.Error(value, "must not be empty (prefix: / matches every path)");
  re2::RE2::Options options;
  options.set_max_mem(kMaxRegexMemory);
  options.set_log_errors(false);
  auto regex =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) {
    return reader.Error(value, absl::StrCat(YamlReader::Quote(pattern),
                                            " is not a valid RE2 pattern: ", regex->error()));
  }
  draft.route.regex = std::move(regex);
  draft.regex = value;
  return absl::OkStatus();
}

absl::Status SetCache(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.cache, reader.Bool(value));
  return absl::OkStatus();
}

absl::Status SetNamespace(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(std::string name, reader.String(value));
  // ValidatePolicy owns the namespace rules; asking it here names the line of the namespace.
  http::RoutePolicy probe;
  probe.cache_namespace = name;
  if (absl::Status status = http::ValidatePolicy(probe); !status.ok()) {
    return reader.Error(value, status.message());
  }
  draft.route.policy.cache_namespace = std::move(name);
  return absl::OkStatus();
}

absl::Status SetMaxTtl(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.ttl, ReadPositiveDuration(reader, value));
  return absl::OkStatus();
}

absl::Status SetDefaultTtl(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.response_default_ttl,
                          ReadPositiveDuration(reader, value));
  draft.default_ttl = value;
  return absl::OkStatus();
}

absl::Status SetVary(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.vary, ReadTokens(reader, value, "header"));
  return absl::OkStatus();
}

absl::Status SetCookies(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.vary_cookies, ReadTokens(reader, value, "cookie"));
  return absl::OkStatus();
}

absl::Status SetQueryParams(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.query_params, reader.Strings(value));
  return absl::OkStatus();
}

absl::Status SetTags(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlValue> items, reader.Sequence(value));
  std::vector<std::string> tags;
  for (const YamlValue& item : items) {
    LARDER_ASSIGN_OR_RETURN(std::string tag, reader.String(item));
    tags.push_back(std::move(tag));
  }
  // Its message names the tag ("tags[3]: ..."), so the path stops at the route.
  if (absl::Status status = http::ValidateRouteTags(tags); !status.ok()) {
    const size_t dot = value.path.rfind('.');
    return reader.Error(YamlValue{value.node, value.path.substr(0, dot)}, status.message());
  }
  draft.route.policy.tags = std::move(tags);
  return absl::OkStatus();
}

absl::Status SetLeaseWait(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(absl::Duration wait, reader.Duration(value));
  if (wait > kMaxLeaseWait) {
    return reader.Error(value, absl::StrCat(YamlReader::Quote(YamlDocument::Scalar(*value.node)),
                                            " is longer than a lease may last (",
                                            absl::FormatDuration(kMaxLeaseWait), ")"));
  }
  draft.route.policy.lease_wait = wait;
  return absl::OkStatus();
}

template <bool http::RoutePolicy::*kField>
absl::Status SetPolicyBool(const YamlReader& reader, const YamlValue& value, RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.*kField, reader.Bool(value));
  return absl::OkStatus();
}

template <absl::Duration http::RoutePolicy::*kField>
absl::Status SetPolicyDuration(const YamlReader& reader, const YamlValue& value,
                               RouteDraft& draft) {
  LARDER_ASSIGN_OR_RETURN(draft.route.policy.*kField, reader.Duration(value));
  return absl::OkStatus();
}

using Setter = absl::Status (*)(const YamlReader&, const YamlValue&, RouteDraft&);

struct RouteKey {
  absl::string_view name;
  Setter set;
};

// Every key of a route, in the order the docs list them.
constexpr RouteKey kRouteKeys[] = {
    {"name", SetName},
    {"prefix", SetPrefix},
    {"regex", SetRegex},
    {"cache", SetCache},
    {"namespace", SetNamespace},
    {"max_ttl", SetMaxTtl},
    {"default_ttl", SetDefaultTtl},
    {"vary", SetVary},
    {"cookies", SetCookies},
    {"ignore_cookies", SetPolicyBool<&http::RoutePolicy::ignore_cookies>},
    {"query_params", SetQueryParams},
    {"honor_client_no_cache", SetPolicyBool<&http::RoutePolicy::honor_client_refresh>},
    {"stale_while_revalidate", SetPolicyDuration<&http::RoutePolicy::stale_while_revalidate>},
    {"stale_if_error", SetPolicyDuration<&http::RoutePolicy::stale_if_error>},
    {"shared", SetPolicyBool<&http::RoutePolicy::shared>},
    {"lease_wait", SetLeaseWait},
    {"tags", SetTags},
    {"coalesce", SetPolicyBool<&http::RoutePolicy::coalesce>},
};

const std::vector<absl::string_view>& RouteKeyNames() {
  static const auto* names = [] {
    auto* out = new std::vector<absl::string_view>();
    for (const RouteKey& key : kRouteKeys) out->push_back(key.name);
    return out;
  }();
  return *names;
}

Setter FindSetter(absl::string_view name) {
  for (const RouteKey& key : kRouteKeys) {
    if (key.name == name) return key.set;
  }
  return nullptr;
}

// A route with every default: cached by the response's headers, capped at 1 h.
ProxyRoute NewRoute(const std::string& tags_header) {
  ProxyRoute route;
  route.policy.freshness = http::FreshnessSource::kResponse;
  route.policy.ttl = kDefaultMaxTtl;
  route.policy.response_tags_header = tags_header;
  route.policy.invalidate_on_write = true;
  return route;
}

ProxyRoute NewDefaultRoute(const std::string& tags_header) {
  ProxyRoute route = NewRoute(tags_header);
  route.name = "default";
  route.policy.route = route.name;
  return route;
}

// What is checked once every key of a route is read.
absl::Status FinishRoute(const YamlReader& reader, const YamlValue& value, bool is_default,
                         RouteDraft& draft) {
  if (!is_default && draft.prefix.has_value() == draft.regex.has_value()) {
    return reader.Error(value, draft.prefix.has_value()
                                   ? "has both prefix and regex: keep one"
                                   : "needs a prefix (e.g. prefix: /items/) or a regex");
  }
  ProxyRoute& route = draft.route;
  if (!draft.has_name) {
    route.name = is_default     ? "default"
                 : draft.prefix ? route.prefix
                                : std::string(YamlDocument::Scalar(*draft.regex->node));
  }
  route.policy.route = route.name;
  if (draft.default_ttl && *route.policy.response_default_ttl > route.policy.ttl) {
    return reader.Error(
        *draft.default_ttl,
        absl::StrCat("longer than max_ttl (", absl::FormatDuration(route.policy.ttl), ")"));
  }
  if (absl::Status status = http::ValidatePolicy(route.policy); !status.ok()) {
    return reader.Error(value, status.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<ProxyRoute> ReadRoute(const YamlReader& reader, const YamlValue& value,
                                     bool is_default, const std::string& tags_header) {
  RouteDraft draft;
  draft.route = NewRoute(tags_header);
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlField> fields, reader.Mapping(value, RouteKeyNames()));
  for (const YamlField& field : fields) {
    if (is_default && (field.key == "prefix" || field.key == "regex")) {
      return reader.Error(field.value,
                          "the default route takes no prefix or regex: it serves the paths no "
                          "route matches");
    }
    LARDER_RETURN_IF_ERROR(FindSetter(field.key)(reader, field.value, draft));
  }
  LARDER_RETURN_IF_ERROR(FinishRoute(reader, value, is_default, draft));
  return std::move(draft.route);
}

absl::StatusOr<std::vector<ProxyRoute>> ReadRoutes(const YamlReader& reader, const YamlValue& value,
                                                   const std::string& tags_header) {
  if (const size_t count = reader.document().Items(*value.node).size(); count > kMaxRoutes) {
    return reader.Error(value, absl::StrCat(count, " routes; at most ", kMaxRoutes));
  }
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlValue> items, reader.Sequence(value));
  std::vector<ProxyRoute> routes;
  routes.reserve(items.size());
  for (const YamlValue& item : items) {
    LARDER_ASSIGN_OR_RETURN(ProxyRoute route, ReadRoute(reader, item, false, tags_header));
    routes.push_back(std::move(route));
  }
  return routes;
}

const YamlField* FindField(const std::vector<YamlField>& fields, absl::string_view key) {
  for (const YamlField& field : fields) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

absl::StatusOr<ProxyConfig> ReadConfig(const YamlReader& reader, const yaml_node_t& root) {
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlField> fields,
                          reader.Mapping(YamlValue{&root, ""}, {"tags_header", "strip_tags_header",
                                                                "routes", "default"}));
  ProxyConfig config;
  if (const YamlField* field = FindField(fields, "tags_header")) {
    LARDER_ASSIGN_OR_RETURN(config.tags_header, reader.String(field->value));
    if (!config.tags_header.empty() && !http::IsToken(config.tags_header)) {
      return reader.Error(field->value, absl::StrCat(YamlReader::Quote(config.tags_header),
                                                     " is not a header name"));
    }
  }
  if (const YamlField* field = FindField(fields, "strip_tags_header")) {
    LARDER_ASSIGN_OR_RETURN(config.strip_tags_header, reader.Bool(field->value));
  }
  config.default_route = NewDefaultRoute(config.tags_header);
  if (const YamlField* field = FindField(fields, "default")) {
    LARDER_ASSIGN_OR_RETURN(config.default_route,
                            ReadRoute(reader, field->value, true, config.tags_header));
  }
  if (const YamlField* field = FindField(fields, "routes")) {
    LARDER_ASSIGN_OR_RETURN(config.routes, ReadRoutes(reader, field->value, config.tags_header));
  }
  return config;
}

}  // namespace

ProxyConfig DefaultProxyConfig() {
  ProxyConfig config;
  config.default_route = NewDefaultRoute(config.tags_header);
  return config;
}

absl::StatusOr<ProxyConfig> ParseProxyConfig(absl::string_view text, absl::string_view source) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":1: the config is larger than ", kMaxConfigBytes, " bytes"));
  }
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<YamlDocument> doc,
                          YamlDocument::Parse(text, source, kMaxNestingDepth));
  const yaml_node_t* root = doc->root();
  // Empty, only comments, or an empty document ("---").
  if (root == nullptr || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    return DefaultProxyConfig();
  }
  return ReadConfig(YamlReader(*doc, source), *root);
}

absl::StatusOr<ProxyConfig> LoadProxyConfig(const std::string& path) {
  struct Closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot open"));
  }
  // One byte more than allowed, so that a longer file is refused rather than cut.
  std::string text(kMaxConfigBytes + 1, '\0');
  const size_t read = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read"));
  }
  text.resize(read);
  return ParseProxyConfig(text, path);
}

const ProxyRoute& MatchRoute(const ProxyConfig& config, absl::string_view path) {
  for (const ProxyRoute& route : config.routes) {
    if (route.regex != nullptr) {
      if (re2::RE2::PartialMatch(re2::StringPiece(path.data(), path.size()), *route.regex)) {
        return route;
      }
    } else if (absl::StartsWith(path, route.prefix)) {
      return route;
    }
  }
  return config.default_route;
}

}  // namespace larder::proxy

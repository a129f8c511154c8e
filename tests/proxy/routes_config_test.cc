#include "proxy/routes_config.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/testing/status_matchers.h"

namespace larder::proxy {
namespace {

using ::larder::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<ProxyConfig> Parse(absl::string_view text) {
  return ParseProxyConfig(text, "routes.yaml");
}

// The message of the error `text` gets, or "OK".
std::string ErrorOf(absl::string_view text) {
  absl::StatusOr<ProxyConfig> config = Parse(text);
  if (config.ok()) return "OK";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

void ExpectDefaultRoute(const ProxyRoute& route, absl::string_view tags_header) {
  EXPECT_EQ(route.name, "default");
  EXPECT_TRUE(route.prefix.empty());
  EXPECT_EQ(route.regex, nullptr);
  EXPECT_TRUE(route.cache);
  EXPECT_EQ(route.policy.route, "default");
  EXPECT_EQ(route.policy.cache_namespace, "http");
  EXPECT_EQ(route.policy.ttl, absl::Hours(1));
  EXPECT_EQ(route.policy.freshness, http::FreshnessSource::kResponse);
  EXPECT_FALSE(route.policy.response_default_ttl.has_value());
  EXPECT_EQ(route.policy.response_tags_header, tags_header);
  EXPECT_TRUE(route.policy.invalidate_on_write);
  EXPECT_OK(http::ValidatePolicy(route.policy));
}

TEST(DefaultProxyConfigTest, CachesEveryPathByResponseHeadersInNamespaceHttp) {
  const ProxyConfig config = DefaultProxyConfig();
  EXPECT_TRUE(config.routes.empty());
  EXPECT_EQ(config.tags_header, "Surrogate-Key");
  EXPECT_TRUE(config.strip_tags_header);
  ExpectDefaultRoute(config.default_route, "Surrogate-Key");
  EXPECT_EQ(&MatchRoute(config, "/anything"), &config.default_route);
}

TEST(ParseProxyConfigTest, EmptyOrCommentOnlyTextIsTheDefaultConfig) {
  for (absl::string_view text : {"", "# nothing yet\n", "---\n", "\n\n"}) {
    ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse(text));
    EXPECT_TRUE(config.routes.empty()) << text;
    EXPECT_EQ(config.tags_header, "Surrogate-Key");
    ExpectDefaultRoute(config.default_route, "Surrogate-Key");
  }
}

TEST(ParseProxyConfigTest, MapsEveryKey) {
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse(R"(tags_header: X-Tags
strip_tags_header: false
routes:
  - name: items
    prefix: /items/
    cache: true
    namespace: items
    max_ttl: 10m
    default_ttl: 30s
    vary: [Accept-Language, Accept]
    cookies: [session]
    ignore_cookies: true
    query_params: [page, sort]
    honor_client_no_cache: true
    stale_while_revalidate: 10s
    stale_if_error: 5m
    shared: true
    lease_wait: 0
    tags: [items, catalog]
    coalesce: false
  - regex: ^/users/[0-9]+$
    cache: false
default:
  name: fallback
  namespace: other
  max_ttl: 2h
)"));
  EXPECT_EQ(config.tags_header, "X-Tags");
  EXPECT_FALSE(config.strip_tags_header);
  ASSERT_EQ(config.routes.size(), 2u);
  const ProxyRoute& items = config.routes[0];
  EXPECT_EQ(items.name, "items");
  EXPECT_EQ(items.prefix, "/items/");
  EXPECT_EQ(items.regex, nullptr);
  EXPECT_TRUE(items.cache);
  const http::RoutePolicy& policy = items.policy;
  EXPECT_EQ(policy.route, "items");
  EXPECT_EQ(policy.cache_namespace, "items");
  EXPECT_EQ(policy.ttl, absl::Minutes(10));
  EXPECT_EQ(policy.freshness, http::FreshnessSource::kResponse);
  EXPECT_EQ(policy.response_default_ttl, absl::Seconds(30));
  EXPECT_EQ(policy.response_tags_header, "X-Tags");
  EXPECT_EQ(policy.vary, (std::vector<std::string>{"Accept-Language", "Accept"}));
  EXPECT_EQ(policy.vary_cookies, std::vector<std::string>{"session"});
  EXPECT_TRUE(policy.ignore_cookies);
  EXPECT_EQ(policy.query_params, (std::vector<std::string>{"page", "sort"}));
  EXPECT_TRUE(policy.honor_client_refresh);
  EXPECT_EQ(policy.stale_while_revalidate, absl::Seconds(10));
  EXPECT_EQ(policy.stale_if_error, absl::Minutes(5));
  EXPECT_TRUE(policy.shared);
  EXPECT_EQ(policy.lease_wait, absl::ZeroDuration());
  EXPECT_EQ(policy.tags, (std::vector<std::string>{"items", "catalog"}));
  EXPECT_FALSE(policy.coalesce);
  EXPECT_TRUE(policy.invalidate_on_write);
  // The upstream's Cache-Control reaches clients: the route sets no directives of its own.
  EXPECT_EQ(http::ClientCacheControl(policy), http::ClientCacheControl(http::RoutePolicy{}));

  const ProxyRoute& users = config.routes[1];
  EXPECT_EQ(users.name, "^/users/[0-9]+$");
  ASSERT_NE(users.regex, nullptr);
  EXPECT_EQ(users.regex->pattern(), "^/users/[0-9]+$");
  EXPECT_TRUE(users.prefix.empty());
  EXPECT_FALSE(users.cache);
  EXPECT_EQ(users.policy.route, "^/users/[0-9]+$");
  EXPECT_EQ(users.policy.response_tags_header, "X-Tags");

  EXPECT_EQ(config.default_route.name, "fallback");
  EXPECT_EQ(config.default_route.policy.route, "fallback");
  EXPECT_EQ(config.default_route.policy.cache_namespace, "other");
  EXPECT_EQ(config.default_route.policy.ttl, absl::Hours(2));
  EXPECT_EQ(config.default_route.policy.response_tags_header, "X-Tags");
}

TEST(ParseProxyConfigTest, RouteDefaults) {
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse("routes:\n  - prefix: /a/\n"));
  ASSERT_EQ(config.routes.size(), 1u);
  const ProxyRoute& route = config.routes[0];
  EXPECT_EQ(route.name, "/a/");
  EXPECT_TRUE(route.cache);
  const http::RoutePolicy& policy = route.policy;
  EXPECT_EQ(policy.route, "/a/");
  EXPECT_EQ(policy.cache_namespace, "http");
  EXPECT_EQ(policy.ttl, absl::Hours(1));
  EXPECT_EQ(policy.freshness, http::FreshnessSource::kResponse);
  EXPECT_FALSE(policy.response_default_ttl.has_value());
  EXPECT_EQ(policy.response_tags_header, "Surrogate-Key");
  EXPECT_TRUE(policy.vary.empty());
  EXPECT_TRUE(policy.vary_cookies.empty());
  EXPECT_FALSE(policy.ignore_cookies);
  EXPECT_FALSE(policy.query_params.has_value());
  EXPECT_FALSE(policy.honor_client_refresh);
  EXPECT_FALSE(policy.shared);
  EXPECT_EQ(policy.stale_while_revalidate, absl::ZeroDuration());
  EXPECT_EQ(policy.stale_if_error, absl::ZeroDuration());
  EXPECT_EQ(policy.lease_wait, absl::Seconds(5));
  EXPECT_TRUE(policy.tags.empty());
  EXPECT_TRUE(policy.coalesce);
  EXPECT_TRUE(policy.invalidate_on_write);
  ExpectDefaultRoute(config.default_route, "Surrogate-Key");
}

TEST(ParseProxyConfigTest, EmptyTagsHeaderMeansNone) {
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse("tags_header: \"\"\nroutes: [{prefix: /}]\n"));
  EXPECT_EQ(config.tags_header, "");
  EXPECT_EQ(config.routes[0].policy.response_tags_header, "");
  EXPECT_EQ(config.default_route.policy.response_tags_header, "");
  ASSERT_OK_AND_ASSIGN(config, Parse("tags_header:\n"));
  EXPECT_EQ(config.tags_header, "");
}

TEST(ParseProxyConfigTest, EmptyQueryParamsKeepNone) {
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse("routes: [{prefix: /, query_params: []}]\n"));
  EXPECT_EQ(config.routes[0].policy.query_params, std::vector<std::string>{});
}

TEST(ParseProxyConfigTest, Durations) {
  const std::pair<const char*, absl::Duration> cases[] = {
      {"30s", absl::Seconds(30)},         {"10m", absl::Minutes(10)}, {"1h", absl::Hours(1)},
      {"1.5s", absl::Milliseconds(1500)}, {"90", absl::Seconds(90)},  {"1h30m", absl::Minutes(90)},
      {"250ms", absl::Milliseconds(250)},
  };
  for (const auto& [text, expected] : cases) {
    ASSERT_OK_AND_ASSIGN(ProxyConfig config,
                         Parse(absl::StrCat("default:\n  max_ttl: ", text, "\n")));
    EXPECT_EQ(config.default_route.policy.ttl, expected) << text;
  }
}

struct ErrorCase {
  const char* text;
  const char* message;
};

// Each refusal: its line, the field path and the problem.
TEST(ParseProxyConfigTest, RefusalsNameLineAndField) {
  const ErrorCase cases[] = {
      {"routes:\n  - prefix: /a/\n  - prefix: /b/\n    max_ttl: 10 minutes\n",
       "routes.yaml:4: routes[1].max_ttl: '10 minutes' is not a duration (e.g. 30s, 10m, 1h)"},
      {"routes:\n  - prefix: /a/\n    stale_if_error: -5s\n",
       "routes.yaml:3: routes[0].stale_if_error: '-5s' is negative"},
      {"routes:\n  - prefix: /a/\n    lease_wait: inf\n",
       "routes.yaml:3: routes[0].lease_wait: 'inf' is not finite"},
      {"default:\n  max_ttl: 0\n", "routes.yaml:2: default.max_ttl: must be positive"},
      {"default:\n  max_ttl: 1m\n  default_ttl: 5m\n",
       "routes.yaml:3: default.default_ttl: longer than max_ttl (1m)"},
      {"default:\n  lease_wait: 2m\n",
       "routes.yaml:2: default.lease_wait: '2m' is longer than a lease may last (1m)"},
      {"routes:\n  - prefix: /a/\n    cache: yes\n",
       "routes.yaml:3: routes[0].cache: 'yes' is not a boolean: write true or false (YAML 1.1's "
       "yes/no/on/off are refused, as they surprise)"},
      {"strip_tags_header: 1\n",
       "routes.yaml:1: strip_tags_header: '1' is not a boolean: write true or false"},
      {"rotues: []\n",
       "routes.yaml:1: unknown key 'rotues' (known: tags_header, strip_tags_header, routes, "
       "default)"},
      {"routes:\n  - prefix: /a/\n    max_tll: 1m\n",
       "routes.yaml:3: routes[0]: unknown key 'max_tll' (known: name, prefix, regex, cache, "
       "namespace, max_ttl, default_ttl, vary, cookies, ignore_cookies, query_params, "
       "honor_client_no_cache, stale_while_revalidate, stale_if_error, shared, lease_wait, tags, "
       "coalesce)"},
      {"routes:\n  - prefix: /a/\n    cache: true\n    cache: false\n",
       "routes.yaml:4: routes[0].cache: duplicate key (first on line 3)"},
      {"routes:\n  prefix: /a/\n",
       "routes.yaml:2: routes: expected a sequence (e.g. [a, b]), got a mapping"},
      {"routes:\n  - prefix: /a/\n    vary: Accept\n",
       "routes.yaml:3: routes[0].vary: expected a sequence (e.g. [a, b]), got a scalar"},
      {"routes:\n  - prefix: [/a/]\n",
       "routes.yaml:2: routes[0].prefix: expected a string, got a sequence"},
      {"routes:\n  - /a/\n",
       "routes.yaml:2: routes[0]: expected a mapping (key: value), got a scalar"},
      {"- prefix: /a/\n", "routes.yaml:1: expected a mapping (key: value), got a sequence"},
      {"? [a]\n: b\n", "routes.yaml:1: expected a scalar key, got a sequence"},
      {"routes:\n  - prefix: a/\n",
       "routes.yaml:2: routes[0].prefix: 'a/' does not start with '/'"},
      {"routes:\n  - name: x\n    prefix: /a/\n    regex: ^/a/\n",
       "routes.yaml:2: routes[0]: has both prefix and regex: keep one"},
      {"routes:\n  - prefix: /a/\n  - name: nothing\n",
       "routes.yaml:3: routes[1]: needs a prefix (e.g. prefix: /items/) or a regex"},
      {"routes:\n  - prefix: /a/\n    name: \"\"\n",
       "routes.yaml:3: routes[0].name: must not be empty"},
      {"routes:\n  - regex:\n",
       "routes.yaml:2: routes[0].regex: must not be empty (prefix: / matches every path)"},
      {"default:\n  prefix: /a/\n",
       "routes.yaml:2: default.prefix: the default route takes no prefix or regex: it serves the "
       "paths no route matches"},
      {"routes:\n  - prefix: /a/\n    vary: [Accept, Accept Language]\n",
       "routes.yaml:3: routes[0].vary[1]: 'Accept Language' is not a header name (letters, digits "
       "and !#$%&'*+-.^_`|~)"},
      {"routes:\n  - prefix: /a/\n    vary: ['*']\n",
       "routes.yaml:3: routes[0].vary[0]: '*' would make every request a miss: use cache: false"},
      {"routes:\n  - prefix: /a/\n    cookies:\n      - session\n      - \"a=b\"\n",
       "routes.yaml:5: routes[0].cookies[1]: 'a=b' is not a cookie name (letters, digits and "
       "!#$%&'*+-.^_`|~)"},
      {"routes:\n  - prefix: /a/\n    query_params: [page, '']\n",
       "routes.yaml:3: routes[0].query_params[1]: must not be empty"},
      {"routes:\n  - prefix: /a/\n    namespace: a b\n",
       "routes.yaml:3: routes[0].namespace: cache_namespace must be 1-128 of [A-Za-z0-9_.-], got "
       "\"a b\""},
      {"routes:\n  - prefix: /a/\n    tags: [a, '']\n",
       "routes.yaml:3: routes[0]: tags[1]: must be 1-256 bytes, got 0"},
      {"tags_header: X Tags\n", "routes.yaml:1: tags_header: 'X Tags' is not a header name"},
      {"\"a\\nb\": 1\n",
       "routes.yaml:1: unknown key 'a\\x0ab' (known: tags_header, strip_tags_header, routes, "
       "default)"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ErrorOf(c.text), c.message) << c.text;
  }
}

TEST(ParseProxyConfigTest, ManyTagsAreRefusedByValidateRouteTags) {
  std::string tags;
  for (int i = 0; i <= http::kMaxRouteTags; ++i) absl::StrAppend(&tags, i == 0 ? "" : ", ", "t", i);
  EXPECT_THAT(ErrorOf(absl::StrCat("routes:\n  - prefix: /\n    tags: [", tags, "]\n")),
              HasSubstr(absl::StrCat("routes.yaml:3: routes[0]: tags: at most ",
                                     http::kMaxRouteTags, " per route")));
}

TEST(ParseProxyConfigTest, InvalidRegexIsRefusedWithRe2sMessage) {
  EXPECT_THAT(ErrorOf("routes:\n  - prefix: /a/\n  - regex: ^/(items\n"),
              HasSubstr("routes.yaml:3: routes[1].regex: '^/(items' is not a valid RE2 pattern: "
                        "missing )"));
  // Perl's lookahead is not RE2.
  EXPECT_THAT(ErrorOf("routes:\n  - regex: ^/(?=a)\n"),
              HasSubstr("routes.yaml:2: routes[0].regex: '^/(?=a)' is not a valid RE2 pattern"));
}

TEST(ParseProxyConfigTest, RegexOverTheMemoryBudgetIsRefused) {
  // RE2 bounds repetitions (a nested 1000 * 100 is refused outright) and, with the 1 MiB budget,
  // the compiled program: 200 * 1000 instructions is too much.
  EXPECT_THAT(ErrorOf("routes:\n  - regex: '((a{1000})){100}'\n"),
              HasSubstr("routes.yaml:2: routes[0].regex: '((a{1000})){100}' is not a valid RE2 "
                        "pattern: invalid repetition size"));
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "[a-z]{1000}";
  EXPECT_THAT(ErrorOf(absl::StrCat("routes:\n  - regex: '", pattern, "'\n")),
              HasSubstr("routes.yaml:2: routes[0].regex: '[a-z]{1000}[a-z]{1000}"));
  EXPECT_THAT(ErrorOf(absl::StrCat("routes:\n  - regex: '", pattern, "'\n")),
              HasSubstr("...' is not a valid RE2 pattern: pattern too large - compile failed"));
}

TEST(ParseProxyConfigTest, SyntaxErrorNamesItsLine) {
  EXPECT_EQ(ErrorOf("routes:\n  - prefix: /a/\n    vary: [Accept\n"),
            "routes.yaml:4: not valid YAML: did not find expected ',' or ']' (while parsing a flow "
            "sequence on line 3)");
  EXPECT_THAT(ErrorOf("routes: [\"\\xff\"]\nbad: \xff\n"),
              HasSubstr("routes.yaml:2: not valid YAML"));
}

TEST(ParseProxyConfigTest, AnchorsAndAliasesAreRefused) {
  EXPECT_EQ(ErrorOf("default: &d\n  namespace: a\n"),
            "routes.yaml:1: anchors (&name) are not allowed: write the value out");
  EXPECT_EQ(ErrorOf("routes:\n  - prefix: /a/\n    vary: *v\n"),
            "routes.yaml:3: aliases (*name) are not allowed: write the value out");
}

TEST(ParseProxyConfigTest, BillionLaughsIsRefusedAtItsFirstAnchor) {
  std::string text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    absl::StrAppend(&text, std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 9; ++i) absl::StrAppend(&text, i ? ", *" : "*", std::string(1, c - 1));
    absl::StrAppend(&text, "]\n");
  }
  EXPECT_EQ(ErrorOf(text), "routes.yaml:1: anchors (&name) are not allowed: write the value out");
}

TEST(ParseProxyConfigTest, ExplicitTagsAndSecondDocumentsAreRefused) {
  EXPECT_EQ(ErrorOf("strip_tags_header: !!bool true\n"),
            "routes.yaml:1: explicit YAML tags (!tag) are not allowed");
  EXPECT_EQ(ErrorOf("routes: []\n---\nroutes: []\n"),
            "routes.yaml:2: only one YAML document is allowed");
}

TEST(ParseProxyConfigTest, NestingDeeperThanEightIsRefused) {
  // Top mapping, routes, the route, tags: 4 levels, then 5 more.
  EXPECT_EQ(ErrorOf("routes:\n  - prefix: /\n    tags: [[[[[[a]]]]]]\n"),
            "routes.yaml:3: nested deeper than 8 levels");
  // 8 levels parse, and are refused for what they are.
  EXPECT_EQ(ErrorOf("routes:\n  - prefix: /\n    tags: [[[[[a]]]]]\n"),
            "routes.yaml:3: routes[0].tags[0]: expected a string, got a sequence");
  // A deep flow collection stops at the ninth level, whatever follows.
  EXPECT_EQ(ErrorOf(std::string(100000, '[')), "routes.yaml:1: nested deeper than 8 levels");
}

TEST(ParseProxyConfigTest, TooManyRoutesAreRefused) {
  std::string text = "routes:\n";
  for (size_t i = 0; i <= kMaxRoutes; ++i) text += "  - {prefix: /}\n";
  EXPECT_EQ(ErrorOf(text), absl::StrCat("routes.yaml:2: routes: ", kMaxRoutes + 1,
                                        " routes; at most ", kMaxRoutes));
  text.resize(text.size() - std::string("  - {prefix: /}\n").size());
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, Parse(text));
  EXPECT_EQ(config.routes.size(), kMaxRoutes);
}

TEST(ParseProxyConfigTest, TextOverTheLimitIsRefusedBeforeParsing) {
  std::string text(kMaxConfigBytes, '#');
  EXPECT_EQ(ErrorOf(text), "OK");
  text += "#";
  EXPECT_EQ(ErrorOf(text),
            absl::StrCat("routes.yaml:1: the config is larger than ", kMaxConfigBytes, " bytes"));
}

ProxyConfig OrderConfig() {
  absl::StatusOr<ProxyConfig> config = Parse(R"(routes:
  - {name: item, regex: '^/items/[0-9]+$'}
  - {name: items, prefix: /items/}
  - {name: anywhere, regex: 'secret'}
  - {name: shadowed, prefix: /items/special}
)");
  EXPECT_OK(config);
  return config.ok() ? *std::move(config) : DefaultProxyConfig();
}

TEST(MatchRouteTest, FirstMatchWins) {
  const ProxyConfig config = OrderConfig();
  EXPECT_EQ(MatchRoute(config, "/items/7").name, "item");
  EXPECT_EQ(MatchRoute(config, "/items/7/reviews").name, "items");
  EXPECT_EQ(MatchRoute(config, "/items/").name, "items");
  // The later, longer prefix never wins: order decides, not length.
  EXPECT_EQ(MatchRoute(config, "/items/special").name, "items");
}

TEST(MatchRouteTest, RegexMatchesAnywhereUnlessAnchoredAndPrefixOnlyAtTheStart) {
  const ProxyConfig config = OrderConfig();
  EXPECT_EQ(MatchRoute(config, "/a/secret/b").name, "anywhere");
  EXPECT_EQ(MatchRoute(config, "/x/items/7").name, "default");
  EXPECT_EQ(MatchRoute(config, "/items").name, "default");
}

TEST(MatchRouteTest, NoMatchIsTheDefaultRoute) {
  const ProxyConfig config = OrderConfig();
  EXPECT_EQ(&MatchRoute(config, "/other"), &config.default_route);
  EXPECT_EQ(&MatchRoute(config, ""), &config.default_route);
}

TEST(LoadProxyConfigTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = ::testing::TempDir() + "/no-such-routes.yaml";
  EXPECT_THAT(LoadProxyConfig(path), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

TEST(LoadProxyConfigTest, ReadsAndParsesTheFile) {
  const std::string path = ::testing::TempDir() + "/routes_config_test.yaml";
  std::ofstream(path) << "routes:\n  - prefix: /a/\n    max_ttl: ten\n";
  EXPECT_THAT(LoadProxyConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       absl::StrCat(path,
                                    ":3: routes[0].max_ttl: 'ten' is not a duration (e.g. "
                                    "30s, 10m, 1h)")));
  std::ofstream(path) << "routes:\n  - prefix: /a/\n";
  ASSERT_OK_AND_ASSIGN(ProxyConfig config, LoadProxyConfig(path));
  EXPECT_EQ(MatchRoute(config, "/a/b").name, "/a/");
  std::ofstream(path) << std::string(kMaxConfigBytes + 10, '#');
  EXPECT_THAT(LoadProxyConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than")));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace larder::proxy

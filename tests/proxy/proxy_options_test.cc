#include "proxy/proxy_options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::proxy {
namespace {

using ::larder::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::StatusOr<ProxyOptions> FromFlags(const FlagValues& flags) {
  return ResolveProxyOptions(flags, {});
}

TEST(ProxyOptionsTest, NothingGivenMeansTheDefaults) {
  absl::StatusOr<ProxyOptions> options = ResolveProxyOptions({}, {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen, (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(options->upstream, (HostPort{"127.0.0.1", 8000}));
  EXPECT_EQ(options->larder, "127.0.0.1:50051");
  EXPECT_EQ(options->config, "");
  EXPECT_EQ(options->admin_listen, (HostPort{"127.0.0.1", 9465}));
  EXPECT_EQ(options->threads, 64);
  EXPECT_EQ(options->upstream_connections, 64);
  EXPECT_EQ(options->upstream_connect_timeout, absl::Seconds(2));
  EXPECT_EQ(options->upstream_timeout, absl::Seconds(30));
  EXPECT_EQ(options->larder_deadline, absl::Milliseconds(50));
  EXPECT_EQ(options->max_request_body, int64_t{8} << 20);
  EXPECT_EQ(options->max_response_body, int64_t{64} << 20);
  EXPECT_EQ(options->near_cache_bytes, 0);
}

TEST(ProxyOptionsTest, EveryDefaultTextParsesBackToTheDefault) {
  FlagValues defaults;
  for (const std::string& name : ProxyFlagNames()) defaults[name] = DefaultFlagText(name);
  absl::StatusOr<ProxyOptions> options = FromFlags(defaults);
  ASSERT_TRUE(options.ok()) << options.status();
  const ProxyOptions expected;
  EXPECT_EQ(options->listen, expected.listen);
  EXPECT_EQ(options->upstream, expected.upstream);
  EXPECT_EQ(options->admin_listen, expected.admin_listen);
  EXPECT_EQ(options->upstream_timeout, expected.upstream_timeout);
  EXPECT_EQ(options->larder_deadline, expected.larder_deadline);
  EXPECT_EQ(options->max_request_body, expected.max_request_body);
  EXPECT_EQ(options->max_header_bytes, expected.max_header_bytes);
  EXPECT_EQ(DefaultFlagText("upstream"), "http://127.0.0.1:8000");
  EXPECT_EQ(DefaultFlagText("max_response_body"), "64MiB");
  EXPECT_EQ(DefaultFlagText("larder_deadline"), "50ms");
}

TEST(ProxyOptionsTest, RefusesAnUpstreamThatIsNotPlainHttpHostAndPort) {
  for (const char* bad :
       {"https://api:8000", "ftp://api:21", "api:8000", "http://", "http://api:8000/v1",
        "http://api:8000?x=1", "http://user@api:8000", "http://api:99999", "http://api:0",
        "http://api:port", "http://api :8000", ""}) {
    EXPECT_THAT(FromFlags({{"upstream", bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith("--upstream: must be http://host:port (no path)")))
        << bad;
  }
}

TEST(ProxyOptionsTest, AcceptsUpstreamsWithoutPortWithSlashOrIpv6) {
  struct Case {
    const char* text;
    HostPort expected;
  };
  for (const Case& c : std::vector<Case>{{"http://api", {"api", 80}},
                                         {"http://api:8000/", {"api", 8000}},
                                         {"HTTP://10.0.0.7:9000", {"10.0.0.7", 9000}},
                                         {"http://[::1]:8000", {"::1", 8000}},
                                         {"http://[::1]", {"::1", 80}}}) {
    absl::StatusOr<ProxyOptions> options = FromFlags({{"upstream", c.text}});
    ASSERT_TRUE(options.ok()) << c.text << ": " << options.status();
    EXPECT_EQ(options->upstream, c.expected) << c.text;
  }
  EXPECT_EQ(UpstreamUrl(*FromFlags({{"upstream", "http://[::1]:8000"}})), "http://[::1]:8000");
}

TEST(ProxyOptionsTest, RefusesBadDurations) {
  for (const char* bad : {"5x", "0s", "-1s", "", "30", "inf"}) {
    EXPECT_THAT(FromFlags({{"upstream_timeout", bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith("--upstream-timeout: must be a positive duration")))
        << bad;
  }
  EXPECT_THAT(FromFlags({{"larder_deadline", "soon"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--larder-deadline: must be a positive duration (e.g. 500ms, "
                                 "2s, 1m), got \"soon\"")));
  absl::StatusOr<ProxyOptions> options =
      FromFlags({{"upstream_connect_timeout", "250ms"}, {"upstream_timeout", "1m30s"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->upstream_connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(options->upstream_timeout, absl::Seconds(90));
}

TEST(ProxyOptionsTest, ParsesSizesWithBinarySuffixes) {
  struct Case {
    const char* text;
    int64_t bytes;
  };
  for (const Case& c : std::vector<Case>{{"0", 0},
                                         {"1048576", 1048576},
                                         {"64k", 64 << 10},
                                         {"64KB", 64 << 10},
                                         {"8MiB", 8 << 20},
                                         {"2gib", int64_t{2} << 30}}) {
    absl::StatusOr<ProxyOptions> options = FromFlags({{"max_request_body", c.text}});
    ASSERT_TRUE(options.ok()) << c.text << ": " << options.status();
    EXPECT_EQ(options->max_request_body, c.bytes) << c.text;
  }
}

TEST(ProxyOptionsTest, RefusesBadSizes) {
  for (const char* bad : {"8XB", "-1", "1.5MiB", "", "MiB", "99999999999999999999", "8 Mi"}) {
    EXPECT_THAT(FromFlags({{"max_response_body", bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith("--max-response-body: must be a size")))
        << bad;
  }
  EXPECT_THAT(FromFlags({{"max_response_body", "0"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--max-response-body: must be at least 1 bytes")));
  EXPECT_THAT(FromFlags({{"max_header_bytes", "100"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-header-bytes")));
  EXPECT_THAT(FromFlags({{"near_cache_bytes", "1KiB"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--near-cache-bytes: must be at least 65536 bytes")));
  EXPECT_TRUE(FromFlags({{"near_cache_bytes", "64MiB"}}).ok());
}

TEST(ProxyOptionsTest, RefusesBadCountsAndAddresses) {
  EXPECT_THAT(FromFlags({{"threads", "0"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--threads: must be a whole number from 1 to 4096, got \"0\"")));
  EXPECT_THAT(FromFlags({{"upstream_connections", "many"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--upstream-connections")));
  for (const char* bad : {"8080", "localhost", ":8080", "host:", "host:65536", "::1:80"}) {
    EXPECT_THAT(FromFlags({{"listen", bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("--listen: must be")))
        << bad;
  }
  EXPECT_THAT(FromFlags({{"larder", ""}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--larder: must not be")));
}

TEST(ProxyOptionsTest, ListenAddressesTakePortZeroAndIpv6AndAdminMayBeOff) {
  absl::StatusOr<ProxyOptions> options =
      FromFlags({{"listen", "[::]:0"}, {"admin_listen", ""}, {"larder", "dns:///larder:7400"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen, (HostPort{"::", 0}));
  EXPECT_EQ(options->admin_listen, std::nullopt);
  EXPECT_EQ(options->larder, "dns:///larder:7400");
}

TEST(ProxyOptionsTest, EnvironmentIsTheFallbackAndNamesItsVariableInErrors) {
  EXPECT_EQ(EnvironmentVariableFor("upstream_connect_timeout"),
            "LARDER_PROXY_UPSTREAM_CONNECT_TIMEOUT");
  absl::StatusOr<ProxyOptions> options = ResolveProxyOptions(
      {}, {{"LARDER_PROXY_THREADS", "16"}, {"LARDER_PROXY_ADMIN_LISTEN", ""}, {"HOME", "/x"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->threads, 16);
  EXPECT_EQ(options->admin_listen, std::nullopt);
  EXPECT_THAT(ResolveProxyOptions({}, {{"LARDER_PROXY_UPSTREAM", "https://api"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("LARDER_PROXY_UPSTREAM: must be http://host:port")));
}

TEST(ProxyOptionsTest, FlagWinsOverEnvironment) {
  absl::StatusOr<ProxyOptions> options =
      ResolveProxyOptions({{"threads", "8"}}, {{"LARDER_PROXY_THREADS", "16"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->threads, 8);
  // A bad variable behind a good flag is never read.
  options = ResolveProxyOptions({{"upstream_timeout", "5s"}},
                                {{"LARDER_PROXY_UPSTREAM_TIMEOUT", "forever"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->upstream_timeout, absl::Seconds(5));
}

TEST(ProxyOptionsTest, RefusesUnknownFlags) {
  EXPECT_THAT(FromFlags({{"upstream_timout", "5s"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --upstream-timout"));
}

TEST(ProxyOptionsTest, StartupLineSaysWhereItListensForwardsAndCaches) {
  ProxyOptions options;
  options.config = "routes.yaml";
  EXPECT_EQ(StartupLine(options, 8080, 9465, 3),
            "larder-proxy: listening on 127.0.0.1:8080, forwarding to http://127.0.0.1:8000, "
            "caching in larder at 127.0.0.1:50051 (3 routes from routes.yaml); admin on "
            "127.0.0.1:9465");
  options.config.clear();
  options.admin_listen.reset();
  options.listen = {"::1", 0};
  EXPECT_EQ(StartupLine(options, 40123, -1, 0),
            "larder-proxy: listening on [::1]:40123, forwarding to http://127.0.0.1:8000, "
            "caching in larder at 127.0.0.1:50051 (default routes); admin off");
}

}  // namespace
}  // namespace larder::proxy

// larderctl's argument parsing: commands, their arguments and flags, and one usage error per
// kind of mistake.
#include "ctl/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Invocation Parse(const std::vector<std::string>& args) {
  absl::StatusOr<Invocation> invocation = ParseArgs(args);
  EXPECT_TRUE(invocation.ok()) << invocation.status();
  return invocation.ok() ? *invocation : Invocation{};
}

std::string ErrorOf(const std::vector<std::string>& args) {
  absl::StatusOr<Invocation> invocation = ParseArgs(args);
  EXPECT_EQ(invocation.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(invocation.status().message());
}

TEST(ArgsTest, GetTakesNamespaceAndKeyWithGlobalFlagsAnywhere) {
  Invocation invocation = Parse({"--target=h:1", "get", "users", "42", "--json"});
  EXPECT_EQ(invocation.command, "get");
  EXPECT_EQ(invocation.ns, "users");
  EXPECT_THAT(invocation.keys, ElementsAre("42"));
  EXPECT_EQ(invocation.global.target, "h:1");
  EXPECT_EQ(invocation.global.output, OutputMode::kJson);
}

TEST(ArgsTest, TargetDefaultsToTheEnvironmentThenTheFlag) {
  EXPECT_EQ(Parse({"stats"}).global.target, "127.0.0.1:50051");
  EXPECT_EQ(ParseArgs({"stats"}, "env:1")->global.target, "env:1");
  EXPECT_EQ(ParseArgs({"--target", "flag:2", "stats"}, "env:1")->global.target, "flag:2");
}

TEST(ArgsTest, SetTakesValueTtlAndRepeatedTags) {
  Invocation invocation = Parse({"set", "ns", "k", "v", "--ttl=5m", "--tag=a", "--tag", "b"});
  EXPECT_EQ(invocation.value, "v");
  EXPECT_EQ(invocation.ttl, absl::Minutes(5));
  EXPECT_THAT(invocation.tags, ElementsAre("a", "b"));
}

TEST(ArgsTest, SetWithoutValueOrWithDashReadsStandardInput) {
  EXPECT_FALSE(Parse({"set", "ns", "k"}).value.has_value());
  EXPECT_FALSE(Parse({"set", "ns", "k", "-"}).value.has_value());
}

TEST(ArgsTest, DoubleDashEndsFlags) {
  Invocation invocation = Parse({"set", "ns", "--", "--key", "--value"});
  EXPECT_THAT(invocation.keys, ElementsAre("--key"));
  EXPECT_EQ(invocation.value, "--value");
}

TEST(ArgsTest, KeyHexDecodesEveryKey) {
  Invocation invocation = Parse({"--key-hex", "mget", "ns", "00ff", "6b"});
  EXPECT_THAT(invocation.keys, ElementsAre(std::string("\0\xff", 2), "k"));
  EXPECT_THAT(ErrorOf({"--key-hex", "get", "ns", "0g"}), HasSubstr("hex"));
  EXPECT_THAT(ErrorOf({"--key-hex", "get", "ns", "abc"}), HasSubstr("hex"));
}

TEST(ArgsTest, InvalidateNeedsExactlyOneTarget) {
  EXPECT_TRUE(Parse({"invalidate", "ns", "--all"}).invalidate.all);
  EXPECT_EQ(Parse({"invalidate", "ns", "--prefix=p"}).invalidate.prefix, "p");
  EXPECT_EQ(Parse({"invalidate", "ns", "--pattern=a*"}).invalidate.pattern, "a*");
  EXPECT_EQ(Parse({"invalidate", "ns", "--tag=t"}).invalidate.tag, "t");
  EXPECT_THAT(ErrorOf({"invalidate", "ns"}), HasSubstr("exactly one"));
  EXPECT_THAT(ErrorOf({"invalidate", "ns", "--all", "--tag=t"}), HasSubstr("exactly one"));
}

TEST(ArgsTest, TouchNeedsAPositiveTtl) {
  EXPECT_THAT(ErrorOf({"touch", "ns", "k"}), HasSubstr("--ttl is required"));
  EXPECT_THAT(ErrorOf({"touch", "ns", "k", "--ttl=0s"}), HasSubstr("positive duration"));
  EXPECT_THAT(ErrorOf({"touch", "ns", "k", "--ttl=soon"}), HasSubstr("positive duration"));
}

TEST(ArgsTest, CommandFlagsApplyToTheirCommandsOnly) {
  EXPECT_THAT(ErrorOf({"get", "ns", "k", "--ttl=5m"}), HasSubstr("--ttl does not apply to get"));
  EXPECT_THAT(ErrorOf({"stats", "--raw"}), HasSubstr("--raw does not apply to stats"));
  EXPECT_EQ(Parse({"get", "ns", "k", "--raw"}).global.output, OutputMode::kRaw);
  EXPECT_EQ(Parse({"watch", "ns", "--count=3"}).count, 3);
  EXPECT_EQ(Parse({"namespaces", "--page-size=10"}).page_size, 10);
  EXPECT_THAT(ErrorOf({"namespaces", "--page-size=1001"}), HasSubstr("1 to 1000"));
}

TEST(ArgsTest, WrongArgumentCountsAndUnknownWordsAreUsageErrors) {
  EXPECT_THAT(ErrorOf({}), HasSubstr("no command"));
  EXPECT_THAT(ErrorOf({"frob"}), HasSubstr("unknown command \"frob\""));
  EXPECT_THAT(ErrorOf({"get", "ns"}), HasSubstr("wrong number of arguments"));
  EXPECT_THAT(ErrorOf({"del", "ns", "a", "b"}), HasSubstr("wrong number of arguments"));
  EXPECT_THAT(ErrorOf({"stats", "--verbose"}), HasSubstr("unknown flag --verbose"));
  EXPECT_THAT(ErrorOf({"stats", "--json=yes"}), HasSubstr("takes no value"));
  EXPECT_THAT(ErrorOf({"stats", "--target"}), HasSubstr("needs a value"));
}

TEST(ArgsTest, HelpComesInThreeSpellings) {
  Invocation overview = Parse({"--help"});
  EXPECT_TRUE(overview.help);
  EXPECT_EQ(overview.command, "");
  Invocation by_command = Parse({"help", "set"});
  EXPECT_TRUE(by_command.help);
  EXPECT_EQ(by_command.command, "set");
  Invocation by_flag = Parse({"set", "--help"});
  EXPECT_TRUE(by_flag.help);
  EXPECT_EQ(by_flag.command, "set");
  EXPECT_THAT(ErrorOf({"help", "frob"}), HasSubstr("unknown command"));
}

TEST(ArgsTest, HealthTakesAnOptionalService) {
  EXPECT_EQ(Parse({"health"}).service, "");
  EXPECT_EQ(Parse({"health", "larder.v1.Cache"}).service, "larder.v1.Cache");
}

}  // namespace
}  // namespace larder::ctl

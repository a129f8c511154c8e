// End to end: the built larderctl binary against a real larderd (memory engine; Redis for the
// namespace listing; a tokens file for refused credentials). Every command, every exit code,
// JSON output, the raw binary round trip of all 256 byte values, hex keys and per-command help.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "nlohmann/json.hpp"
#include "server/auth/tokens_file.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_server.h"

extern char** environ;

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// The environment without LARDER_* variables, plus `extra` ("NAME=value").
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "LARDER_")) env.emplace_back(*entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Runs larderctl with `args`, `input` on its standard input, and waits for it.
CtlResult RunCtl(const std::vector<std::string>& args, const std::string& input = "",
                 const std::vector<std::string>& env = {}) {
  static const std::string dir = testing::MakeTempDir("larderctl-e2e");
  static int runs = 0;
  const std::string base = absl::StrCat(dir, "/run", runs++);
  std::ofstream(base + ".in", std::ios::binary) << input;
  std::vector<std::string> argv_strings = {LARDERCTL_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, (base + ".in").c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, (base + ".out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (base + ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  CtlResult result;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = ReadAll(base + ".out");
  result.err = ReadAll(base + ".err");
  return result;
}

// Each line of `text` parsed as JSON; fails the test on a line that does not parse.
std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << line;
    lines.push_back(std::move(json));
  }
  return lines;
}

// One line on standard error, and nothing on standard output.
void ExpectOneErrorLine(const CtlResult& result) {
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_THAT(result.err, StartsWith("larderctl: "));
}

class LarderctlTest : public ::testing::Test {
 protected:
  void SetUp() override { StartLarderd({}); }

  void StartLarderd(const std::vector<std::string>& args) {
    auto started = LarderdProcess::Start(args);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started).value();
  }

  // larderctl --target=<this larderd> args...
  CtlResult Ctl(std::vector<std::string> args, const std::string& input = "",
                const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), "--target=" + server_->grpc_address());
    return RunCtl(args, input, env);
  }

  std::unique_ptr<LarderdProcess> server_;
};

TEST_F(LarderctlTest, SetThenGetPrintsValueEtagAndTtl) {
  CtlResult set = Ctl({"set", "users", "42", "{\"name\":\"Ada\"}", "--ttl=5m", "--tag=team"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.out, StartsWith("stored 42 etag \""));
  CtlResult get = Ctl({"get", "users", "42"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, HasSubstr("value: {\"name\":\"Ada\"}\n"));
  EXPECT_THAT(get.out, HasSubstr("size:  14 bytes\n"));
  EXPECT_THAT(get.out, HasSubstr("ttl:   4m5"));
  EXPECT_THAT(get.out, HasSubstr("etag:  \""));
  EXPECT_TRUE(get.err.empty());
}

TEST_F(LarderctlTest, MissesExitOne) {
  CtlResult get = Ctl({"get", "users", "absent"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_THAT(get.out, HasSubstr("(not found)"));
  EXPECT_EQ(Ctl({"del", "users", "absent"}).exit_code, 1);
  EXPECT_EQ(Ctl({"touch", "users", "absent", "--ttl=1m"}).exit_code, 1);
  EXPECT_EQ(Ctl({"get", "--raw", "users", "absent"}).out, "");
}

TEST_F(LarderctlTest, DelAndTouchOfAPresentEntrySucceed) {
  ASSERT_EQ(Ctl({"set", "ns", "k", "v"}).exit_code, 0);
  CtlResult touch = Ctl({"touch", "ns", "k", "--ttl=1h"});
  EXPECT_EQ(touch.exit_code, 0) << touch.err;
  EXPECT_THAT(touch.out, StartsWith("touched k etag"));
  EXPECT_THAT(Ctl({"get", "ns", "k"}).out, HasSubstr("ttl:   59m5"));
  CtlResult del = Ctl({"del", "ns", "k"});
  EXPECT_EQ(del.exit_code, 0);
  EXPECT_EQ(del.out, "deleted k\n");
  EXPECT_EQ(Ctl({"get", "ns", "k"}).exit_code, 1);
}

TEST_F(LarderctlTest, MultiGetPrintsOneJsonLinePerKeyAndExitsOneOnAnyMiss) {
  ASSERT_EQ(Ctl({"set", "ns", "a", "1"}).exit_code, 0);
  ASSERT_EQ(Ctl({"set", "ns", "b", "2"}).exit_code, 0);
  CtlResult both = Ctl({"--json", "mget", "ns", "a", "b"});
  EXPECT_EQ(both.exit_code, 0) << both.err;
  std::vector<nlohmann::json> lines = JsonLines(both.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["value"], absl::Base64Escape("1"));
  EXPECT_EQ(lines[1]["key"], absl::Base64Escape("b"));
  CtlResult one_missing = Ctl({"--json", "mget", "ns", "a", "zz"});
  EXPECT_EQ(one_missing.exit_code, 1);
  lines = JsonLines(one_missing.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["found"], false);
}

TEST_F(LarderctlTest, RawGetRoundTripsEveryByteValueThroughStandardInput) {
  std::string value;
  for (int round = 0; round < 4; ++round) {
    for (int byte = 0; byte < 256; ++byte) value.push_back(static_cast<char>(byte));
  }
  CtlResult set = Ctl({"set", "files", "all-bytes", "-"}, value);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  CtlResult get = Ctl({"get", "files", "all-bytes", "--raw"});
  EXPECT_EQ(get.exit_code, 0);
  EXPECT_EQ(get.out, value);
  ASSERT_EQ(Ctl({"set", "files", "no-value-argument"}, value).exit_code, 0);
  EXPECT_EQ(Ctl({"get", "--raw", "files", "no-value-argument"}).out, value);
  CtlResult human = Ctl({"get", "files", "all-bytes"});
  EXPECT_THAT(human.out, HasSubstr("value: \"\\x00\\x01\\x02"));
  EXPECT_THAT(human.out, HasSubstr("(first 64 of 1024 bytes)"));
  CtlResult json = Ctl({"--json", "get", "files", "all-bytes"});
  std::vector<nlohmann::json> lines = JsonLines(json.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["value"], absl::Base64Escape(value));
  EXPECT_EQ(lines[0]["size"], 1024);
}

TEST_F(LarderctlTest, KeyHexAddressesKeysOfAnyBytes) {
  const std::string key("\0\xff\n", 3);
  ASSERT_EQ(Ctl({"--key-hex", "set", "bin", "00ff0a", "v"}).exit_code, 0);
  CtlResult json = Ctl({"--json", "--key-hex", "get", "bin", "00ff0a"});
  EXPECT_EQ(json.exit_code, 0);
  std::vector<nlohmann::json> lines = JsonLines(json.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["key"], absl::Base64Escape(key));
  EXPECT_THAT(Ctl({"--key-hex", "get", "bin", "00ff0a"}).out,
              HasSubstr("key:   \"\\x00\\xff\\n\""));
  EXPECT_EQ(Ctl({"get", "bin", "00ff0a"}).exit_code, 1);  // Without --key-hex: another key.
  EXPECT_EQ(Ctl({"--key-hex", "del", "bin", "00ff0a"}).exit_code, 0);
}

TEST_F(LarderctlTest, InvalidateRemovesWhatEachTargetSelects) {
  for (const char* key : {"user:1", "user:2", "page:1", "other"}) {
    ASSERT_EQ(
        Ctl({"set", "ns", key, "v", absl::StrCat("--tag=", key[0] == 'o' ? "t" : "x")}).exit_code,
        0);
  }
  EXPECT_EQ(Ctl({"invalidate", "ns", "--prefix=user:"}).out, "deleted 2 entries\n");
  EXPECT_EQ(Ctl({"invalidate", "ns", "--pattern=p?ge:*"}).out, "deleted 1 entry\n");
  CtlResult tag = Ctl({"--json", "invalidate", "ns", "--tag=t"});
  EXPECT_EQ(tag.exit_code, 0);
  EXPECT_EQ(JsonLines(tag.out).at(0)["deleted"], 1);
  ASSERT_EQ(Ctl({"set", "ns", "again", "v"}).exit_code, 0);
  EXPECT_EQ(Ctl({"invalidate", "ns", "--all"}).out, "deleted 1 entry\n");
}

TEST_F(LarderctlTest, StatsAndNamespacesListEveryNamespaceAcrossPages) {
  for (const char* ns : {"zeta", "alpha", "mid", "beta"}) {
    ASSERT_EQ(Ctl({"set", ns, "k", "vv"}).exit_code, 0);
  }
  ASSERT_EQ(Ctl({"set", "alpha", "k2", "vvv"}).exit_code, 0);
  CtlResult listed = Ctl({"--json", "namespaces", "--page-size=1"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  std::vector<nlohmann::json> lines = JsonLines(listed.out);
  std::vector<std::string> names;
  for (const nlohmann::json& line : lines) names.push_back(line["name"]);
  EXPECT_THAT(names, ElementsAre("alpha", "beta", "mid", "zeta"));
  EXPECT_EQ(lines[0]["entries"], 2);
  EXPECT_EQ(lines[0]["bytes"], 1 + 2 + 2 + 3);
  CtlResult human = Ctl({"namespaces"});
  EXPECT_THAT(human.out, StartsWith("NAMESPACE"));
  EXPECT_THAT(human.out, HasSubstr("zeta"));
  CtlResult stats = Ctl({"--json", "stats", "alpha"});
  EXPECT_EQ(stats.exit_code, 0);
  EXPECT_EQ(JsonLines(stats.out).at(0)["entries"], 2);
  EXPECT_EQ(JsonLines(Ctl({"--json", "stats"}).out).at(0)["entries"], 5);
  EXPECT_THAT(Ctl({"stats"}).out, HasSubstr("engine:      memory"));
}

TEST_F(LarderctlTest, HealthReportsServing) {
  CtlResult health = Ctl({"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  CtlResult cache = Ctl({"--json", "health", "larder.v1.Cache"});
  EXPECT_EQ(JsonLines(cache.out).at(0)["status"], "SERVING");
  CtlResult unknown = Ctl({"health", "no.such.Service"});
  EXPECT_EQ(unknown.exit_code, 3);  // NOT_FOUND from the health service.
  ExpectOneErrorLine(unknown);
}

TEST_F(LarderctlTest, WatchPrintsEventsUntilItsCount) {
  CtlResult watch;
  std::thread watcher([&] { watch = Ctl({"--json", "watch", "feed", "--count=2"}); });
  // Writes until the watcher has its two events (the stream may open after the first writes).
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (watch.exit_code == -1 && absl::Now() < give_up) {
    Ctl({"set", "feed", "k", "v"});
    absl::SleepFor(absl::Milliseconds(50));
  }
  watcher.join();
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  std::vector<nlohmann::json> lines = JsonLines(watch.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["kind"], "reset");
  EXPECT_EQ(lines[1]["kind"], "key");
  EXPECT_EQ(lines[1]["argument"], absl::Base64Escape("k"));
}

TEST_F(LarderctlTest, UsageErrorsExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frob"},
                                             {"get", "ns"},
                                             {"get", "ns", "k", "--ttl=5m"},
                                             {"invalidate", "ns"},
                                             {"--key-hex", "get", "ns", "xyz"},
                                             {"touch", "ns", "k"},
                                             {}}) {
    CtlResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ");
    ExpectOneErrorLine(result);
  }
  CtlResult invalid_namespace = Ctl({"get", "not a namespace!", "k"});
  EXPECT_EQ(invalid_namespace.exit_code, 2);
  EXPECT_THAT(invalid_namespace.err, HasSubstr("INVALID_ARGUMENT"));
}

TEST_F(LarderctlTest, HelpOfEveryCommandHasAnExample) {
  for (const char* command : {"get", "set", "del", "touch", "mget", "invalidate", "stats",
                              "namespaces", "health", "watch"}) {
    CtlResult by_word = RunCtl({"help", command});
    EXPECT_EQ(by_word.exit_code, 0);
    EXPECT_THAT(by_word.out, StartsWith(absl::StrCat("larderctl ", command)));
    EXPECT_THAT(by_word.out, HasSubstr("Example:"));
    EXPECT_EQ(RunCtl({command, "--help"}).out, by_word.out);
  }
  CtlResult overview = RunCtl({"--help"});
  EXPECT_EQ(overview.exit_code, 0);
  EXPECT_THAT(overview.out, HasSubstr("Exit codes"));
}

TEST_F(LarderctlTest, StoppedServerExitsThree) {
  const std::string target = "--target=" + server_->grpc_address();
  server_->process().Stop();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"get", "ns", "k"}, {"namespaces"}, {"health"}, {"watch", "ns"}}) {
    std::vector<std::string> full = args;
    full.insert(full.begin(), {target, "--timeout=2s"});
    CtlResult result = RunCtl(full);
    EXPECT_EQ(result.exit_code, 3) << absl::StrJoin(args, " ") << ": " << result.err;
    ExpectOneErrorLine(result);
    EXPECT_THAT(result.err, HasSubstr("UNAVAILABLE"));
  }
}

// The Namespaces RPC's bounds, through the SDK (larderctl checks --page-size itself).
TEST_F(LarderctlTest, NamespacesRefusesPageSizesAndTokensOutOfBounds) {
  ClientOptions options;
  options.target = server_->grpc_address();
  options.deadline = absl::Seconds(5);
  std::shared_ptr<Client> client = Client::Create(options).value();
  ASSERT_TRUE(client->Set("a", "k", "v").ok());
  ASSERT_TRUE(client->Set("b", "k", "v").ok());
  EXPECT_EQ(client->Namespaces(1001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client->Namespaces(1001).status().message(), HasSubstr("page_size"));
  EXPECT_EQ(client->Namespaces(-1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client->Namespaces(10, "not a namespace!").status().message(),
              HasSubstr("page_token"));
  absl::StatusOr<NamespacesPage> first = client->Namespaces(1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->namespaces.size(), 1u);
  EXPECT_EQ(first->namespaces[0].name, "a");
  EXPECT_EQ(first->next_page_token, "a");
  absl::StatusOr<NamespacesPage> second = client->Namespaces(1000, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->namespaces.size(), 1u);
  EXPECT_EQ(second->namespaces[0].name, "b");
  EXPECT_EQ(second->next_page_token, "");
}

class LarderctlAuthTest : public LarderctlTest {
 protected:
  void SetUp() override {
    const std::string dir = testing::MakeTempDir("larderctl-auth");
    std::ofstream(dir + "/tokens")
        << server::auth::TokensFileLine("ops", "ops-token", "*", "admin")
        << server::auth::TokensFileLine("app", "app-token", "items", "read,write");
    std::ofstream(dir + "/app-token") << "app-token\n";
    std::ofstream(dir + "/wrong-token") << "wrong-token\n";
    dir_ = dir;
    StartLarderd({"--auth-tokens-file=" + dir + "/tokens"});
  }
  std::string dir_;
};

TEST_F(LarderctlAuthTest, TokenFromFileOrEnvironmentIsSentAndRefusalsExitThree) {
  EXPECT_EQ(Ctl({"--token-file=" + dir_ + "/app-token", "set", "items", "k", "v"}).exit_code, 0);
  EXPECT_EQ(Ctl({"get", "items", "k"}, "", {"LARDER_AUTH_TOKEN=app-token"}).exit_code, 0);
  CtlResult wrong = Ctl({"--token-file=" + dir_ + "/wrong-token", "get", "items", "k"});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_THAT(wrong.err, HasSubstr("UNAUTHENTICATED"));
  ExpectOneErrorLine(wrong);
  CtlResult none = Ctl({"get", "items", "k"});
  EXPECT_EQ(none.exit_code, 3);
  // Listing namespaces needs admin on the whole server.
  CtlResult app = Ctl({"namespaces"}, "", {"LARDER_AUTH_TOKEN=app-token"});
  EXPECT_EQ(app.exit_code, 3);
  EXPECT_THAT(app.err, HasSubstr("PERMISSION_DENIED"));
  CtlResult ops = Ctl({"--json", "namespaces"}, "", {"LARDER_AUTH_TOKEN=ops-token"});
  EXPECT_EQ(ops.exit_code, 0) << ops.err;
  EXPECT_EQ(JsonLines(ops.out).at(0)["name"], "items");
}

TEST(LarderctlRedisTest, NamespacesListsTheRedisEngineSorted) {
  auto redis = testing::RedisServerProcess::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  auto server = LarderdProcess::Start({"--engine=redis", "--redis-url=" + (*redis)->url()});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = "--target=" + (*server)->grpc_address();
  for (const char* ns : {"b", "c", "a"}) {
    ASSERT_EQ(RunCtl({target, "set", ns, "key", "value"}).exit_code, 0);
  }
  ASSERT_EQ(RunCtl({target, "del", "c", "key"}).exit_code, 0);
  CtlResult listed = RunCtl({target, "--json", "namespaces", "--page-size=1"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  std::vector<std::string> names;
  for (const nlohmann::json& line : JsonLines(listed.out)) {
    names.push_back(line["name"]);
    EXPECT_EQ(line["entries"], 1);
    EXPECT_EQ(line["bytes"], 3 + 5);
  }
  EXPECT_THAT(names, ElementsAre("a", "b"));
}

}  // namespace
}  // namespace larder

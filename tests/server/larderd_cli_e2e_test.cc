// End to end, the real larderd binary's command line: --help lists every flag larderd
// registers, grouped; --version; a busy gRPC or metrics port is one line and a non-zero exit;
// --max-connection-age (also from LARDER_MAX_CONNECTION_AGE) closes idle client connections.
// larderd's stderr goes to a file (ChildProcess::log_path) that the tests read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/channel.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdBinaryPath;
using ::testing::HasSubstr;
using ::testing::Not;

struct Exit {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs larderd with `args` to its exit.
Exit RunLarderd(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {LarderdBinaryPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = ChildProcess::Start(argv, env);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  Exit result;
  result.out = (*process)->ReadToEnd(absl::Seconds(20)).value_or("");
  int status = 0;
  EXPECT_TRUE((*process)->WaitForExit(absl::Seconds(20), &status));
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = (*process)->LogTail(1 << 20);
  return result;
}

// A socket listening on a free loopback port, closed on destruction.
class BusyPort {
 public:
  BusyPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(bound);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length), 0);
    address_ = absl::StrCat("127.0.0.1:", ntohs(bound.sin_port));
  }
  ~BusyPort() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_;
  std::string address_;
};

// The names (with dashes) absl's --helpfull lists for larderd's main file.
std::vector<std::string> RegisteredFlags() {
  const Exit full = RunLarderd({"--helpfull"});
  std::vector<std::string> names;
  bool in_main = false;
  for (absl::string_view line : absl::StrSplit(full.out, '\n')) {
    if (absl::StartsWith(line, "  Flags from ")) in_main = absl::EndsWith(line, "server/main.cc:");
    if (!in_main || !absl::StartsWith(line, "    --")) continue;
    line.remove_prefix(6);
    names.push_back(absl::StrReplaceAll(line.substr(0, line.find(' ')), {{"_", "-"}}));
  }
  return names;
}

TEST(LarderdHelpTest, ListsEveryFlagLarderdRegistersWithItsDefault) {
  const std::vector<std::string> registered = RegisteredFlags();
  ASSERT_GE(registered.size(), 40u);
  const Exit help = RunLarderd({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, Not(HasSubstr("No flags matched")));
  for (const std::string& name : registered) {
    EXPECT_THAT(help.out, HasSubstr(absl::StrCat("\n  --", name, " (default: "))) << name;
  }
  EXPECT_THAT(help.out, HasSubstr("--max-connection-age (default: 5m; env "
                                  "LARDER_MAX_CONNECTION_AGE)"));
  EXPECT_THAT(help.out, HasSubstr("--memory-limit (default: 1GiB;"));
}

TEST(LarderdHelpTest, GroupsFlagsByEngine) {
  const std::string help = RunLarderd({"--help"}).out;
  const size_t memory = help.find("\nMemory engine");
  const size_t rocksdb = help.find("\nRocksDB engine");
  const size_t redis = help.find("\nRedis engine");
  ASSERT_NE(memory, std::string::npos);
  ASSERT_NE(rocksdb, std::string::npos);
  ASSERT_NE(redis, std::string::npos);
  EXPECT_GT(help.find("--memory-shards"), memory);
  EXPECT_LT(help.find("--memory-shards"), rocksdb);
  EXPECT_GT(help.find("--rocksdb-compression"), rocksdb);
  EXPECT_GT(help.find("--redis-url"), redis);
}

TEST(LarderdVersionTest, PrintsNameVersionBuildTypeAndCompiler) {
  const Exit version = RunLarderd({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, ::testing::MatchesRegex("larderd [0-9.]+ \\([^,]+, [^)]+\\)\n"));
  EXPECT_THAT(version.out, HasSubstr(absl::StrCat("larderd ", LARDER_PROJECT_VERSION, " (")));
  EXPECT_THAT(version.out, Not(HasSubstr("NDEBUG")));
}

TEST(LarderdBindErrorTest, BusyGrpcPortIsOneLineNamingTheAddressAndTheFlag) {
  BusyPort busy;
  const Exit exit = RunLarderd({"--listen=" + busy.address(), "--metrics-address=127.0.0.1:0"});
  EXPECT_NE(exit.code, 0);
  EXPECT_EQ(exit.err, absl::StrCat("larderd: cannot listen on ", busy.address(),
                                   " (--listen): address in use\n"));
  EXPECT_EQ(exit.out, "");
}

TEST(LarderdBindErrorTest, BusyMetricsPortIsOneLineNamingTheAddressAndTheFlag) {
  BusyPort busy;
  const Exit exit = RunLarderd({"--listen=127.0.0.1:0", "--metrics-address=" + busy.address()});
  EXPECT_NE(exit.code, 0);
  EXPECT_EQ(exit.err, absl::StrCat("larderd: cannot listen on ", busy.address(),
                                   " (--metrics-address): address in use\n"));
}

TEST(LarderdFlagsTest, MaxConnectionAgeComesFromTheEnvironmentAndIsInTheStartLine) {
  auto server = testing::LarderdProcess::Start(
      {}, {"LARDER_MAX_CONNECTION_AGE=90s", "LARDER_MAX_CONNECTION_AGE_GRACE=0"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string log = (*server)->process().LogTail(1 << 20);
  EXPECT_THAT(log, HasSubstr(" INFO start version="));
  EXPECT_THAT(log, HasSubstr(" max_connection_age=1m30s max_connection_age_grace=0 "));
}

TEST(LarderdFlagsTest, NegativeMaxConnectionAgeIsAStartUpError) {
  const Exit exit = RunLarderd({"--listen=127.0.0.1:0", "--max-connection-age=-1s"});
  EXPECT_EQ(exit.code, 2);
  EXPECT_THAT(exit.err, HasSubstr("--max-connection-age: must be 0 (off)"));
}

// Whether a connected, idle channel leaves READY within 3 s: it is sent GOAWAY after
// --max-connection-age and reconnects; without the flag it stays connected.
bool LeavesReadyWithinThreeSeconds(const std::string& age) {
  auto server = testing::LarderdProcess::Start({"--max-connection-age=" + age});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return false;
  std::shared_ptr<grpc::Channel> channel = (*server)->channel();
  EXPECT_TRUE(channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
  return channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                     absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
}

TEST(LarderdConnectionAgeTest, ConnectionsAreClosedAfterTheMaxAge) {
  EXPECT_TRUE(LeavesReadyWithinThreeSeconds("1s"));
}

TEST(LarderdConnectionAgeTest, ZeroKeepsConnectionsOpen) {
  EXPECT_FALSE(LeavesReadyWithinThreeSeconds("0"));
}

}  // namespace
}  // namespace larder

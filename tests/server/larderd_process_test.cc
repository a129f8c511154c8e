// End to end: larderd as a process: flags and LARDER_* variables, start-up errors, the memory
// limit, the metrics endpoint, and graceful shutdown on SIGTERM.
#include "tests/testing/larderd_process.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdBinaryPath;
using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

// Runs larderd to completion (it must fail fast); returns {exit code, stderr}.
std::pair<int, std::string> RunToExit(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {LarderdBinaryPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = ChildProcess::Start(argv, env);
  EXPECT_TRUE(process.ok());
  int status = 0;
  EXPECT_TRUE((*process)->WaitForExit(absl::Seconds(20), &status));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, (*process)->LogTail()};
}

v1::StatsResponse StatsOf(LarderdProcess& server, const std::string& ns) {
  auto stub = v1::Cache::NewStub(server.channel());
  v1::StatsRequest request;
  request.set_namespace_(ns);
  v1::StatsResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(stub->Stats(&context, request, &response).ok());
  return response;
}

grpc::Status SetValue(v1::Cache::Stub& stub, const std::string& ns, const std::string& key,
                      const std::string& value) {
  v1::SetRequest request;
  request.set_namespace_(ns);
  request.set_key(key);
  request.set_value(value);
  v1::SetResponse response;
  grpc::ClientContext context;
  return stub.Set(&context, request, &response);
}

TEST(LarderdProcessTest, BadFlagValueExitsNonZeroWithOneClearLine) {
  auto [code, errors] = RunToExit({"--memory-limit=lots"});
  EXPECT_NE(code, 0);
  EXPECT_THAT(errors, HasSubstr("memory_limit"));
  EXPECT_THAT(errors, HasSubstr("byte count"));
}

TEST(LarderdProcessTest, InconsistentTtlFlagsExitWithTheFlagNamed) {
  auto [code, errors] = RunToExit({"--listen=127.0.0.1:0", "--max-ttl=1m"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(errors, HasSubstr("--default-ttl"));
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 1) << errors;
}

TEST(LarderdProcessTest, BadGrpcApiAndThreadCountAreRefusedWithTheFlagNamed) {
  auto [api_code, api_errors] = RunToExit({"--listen=127.0.0.1:0", "--grpc-api=sync"});
  EXPECT_EQ(api_code, 2);
  EXPECT_THAT(api_errors, HasSubstr("--grpc-api: must be async or callback, got \"sync\""));
  auto [threads_code, threads_errors] = RunToExit({"--listen=127.0.0.1:0", "--grpc-threads=-1"});
  EXPECT_EQ(threads_code, 2);
  EXPECT_THAT(threads_errors, HasSubstr("--grpc-threads: must be 0 (one per core) to 256, got -1"));
}

TEST(LarderdProcessTest, UnknownEngineIsRefusedAtStartUp) {
  auto [code, errors] = RunToExit({"--listen=127.0.0.1:0", "--engine=floppy"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(errors, HasSubstr("unknown engine \"floppy\""));
}

TEST(LarderdProcessTest, BadEnvironmentVariableIsNamed) {
  auto [code, errors] = RunToExit({}, {"LARDER_DEFAULT_TTL=soon"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(errors, HasSubstr("LARDER_DEFAULT_TTL"));
}

TEST(LarderdProcessTest, EnvironmentConfiguresAndCommandLineWins) {
  auto server = LarderdProcess::Start({"--max-value-bytes=10"},
                                      {"LARDER_DEFAULT_TTL=2m", "LARDER_MAX_VALUE_BYTES=1000"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Cache::NewStub((*server)->channel());
  ASSERT_TRUE(SetValue(*stub, "env", "k", "short").ok());
  EXPECT_EQ(SetValue(*stub, "env", "k", std::string(11, 'v')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetRequest request;
  request.set_namespace_("env");
  request.set_key("k");
  v1::GetResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Get(&context, request, &response).ok());
  EXPECT_LE(response.ttl().seconds(), 120);
  EXPECT_GT(response.ttl().seconds(), 100);
}

TEST(LarderdProcessTest, AddressInUseIsAClearStartUpError) {
  auto first = LarderdProcess::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  auto [code, errors] =
      RunToExit({"--listen=" + (*first)->grpc_address(), "--metrics-address=127.0.0.1:0"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(errors, HasSubstr("cannot listen on " + (*first)->grpc_address() + " (--listen)"));
}

TEST(LarderdProcessTest, MemoryLimitEvictsInsteadOfFailingWrites) {
  auto server = LarderdProcess::Start({"--memory-limit=1MiB", "--max-value-bytes=16KiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Cache::NewStub((*server)->channel());
  const std::string value(8 * 1024, 'v');
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(SetValue(*stub, "evict", "key" + std::to_string(i), value).ok()) << i;
  }
  v1::StatsResponse stats = StatsOf(**server, "evict");
  EXPECT_GT(stats.evictions(), 0);
  EXPECT_EQ(stats.entries() + stats.evictions(), 400);
  EXPECT_LE(stats.bytes(), 1 << 20);
}

TEST(LarderdProcessTest, MetricsEndpointCountsRequests) {
  auto server = LarderdProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Cache::NewStub((*server)->channel());
  ASSERT_TRUE(SetValue(*stub, "metered", "k", "v").ok());
  std::vector<std::string> host_port = absl::StrSplit((*server)->metrics_address(), ':');
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(host_port[1], &port));
  httplib::Client http(host_port[0], port);
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("larder_requests_total{code=\"OK\",method=\"Set\"} 1"));
  EXPECT_THAT(response->body,
              ::testing::ContainsRegex("larder_entries\\{store=\"memory@[^\"]+\"\\} 1"));
  EXPECT_THAT(response->body, HasSubstr("larder_build_info{engine=\"memory\""));
}

TEST(LarderdProcessTest, SigtermFinishesInFlightCallsAndExitsCleanly) {
  auto server = LarderdProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::atomic<bool> stop{false};
  std::atomic<int> ok_calls{0}, refused_calls{0}, other_failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, channel = (*server)->channel()] {
      auto stub = v1::Cache::NewStub(channel);
      for (int i = 0; !stop.load() && i < 100000; ++i) {
        grpc::Status status = SetValue(*stub, "shutdown", "k" + std::to_string(i), "v");
        if (status.ok()) {
          ++ok_calls;
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   status.error_code() == grpc::StatusCode::CANCELLED) {
          ++refused_calls;  // Never dispatched: arrived as the server stopped accepting.
        } else {
          ++other_failures;
          ADD_FAILURE() << status.error_code() << ": " << status.error_message();
        }
      }
    });
  }
  while (ok_calls.load() < 200) std::this_thread::yield();
  (*server)->process().Signal(SIGTERM);
  int status = 0;
  EXPECT_TRUE((*server)->process().WaitForExit(absl::Seconds(15), &status));
  stop = true;
  for (std::thread& client : clients) client.join();
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_GE(ok_calls.load(), 200);
}

}  // namespace
}  // namespace larder

// larder::Client when larder misbehaves: nothing listening, a silent listener, a frozen server,
// and a server restarted on the same port while a call retries.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/client/client_fixture.h"
#include "tests/testing/child_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdClientTest;
using ::larder::testing::LarderdProcess;
using ::larder::testing::PickFreePort;
using ::larder::testing::SilentListener;
using ::larder::testing::StatusCodeIs;

using ClientFailureTest = LarderdClientTest;

// SIGSTOP is delivered asynchronously: waits until every thread of `pid` is stopped.
bool StopAndWait(pid_t pid) {
  kill(pid, SIGSTOP);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    bool all_stopped = true;
    for (const auto& thread_dir :
         std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"))) {
      std::ifstream stat(thread_dir.path() / "stat");
      std::string line;
      std::getline(stat, line);
      const size_t after_name = line.rfind(')');
      if (after_name == std::string::npos || line.size() < after_name + 3 ||
          (line[after_name + 2] != 't' && line[after_name + 2] != 'T')) {
        all_stopped = false;
      }
    }
    if (all_stopped) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

TEST_F(ClientFailureTest, NothingListeningIsUnavailableAfterRetries) {
  const std::string closed = absl::StrCat("127.0.0.1:", PickFreePort());
  std::shared_ptr<Client> client = NewClient(closed);
  EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 2);  // max_attempts 3
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "UNAVAILABLE"}}), 1);
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "ns"}, {"result", "error"}}), 1);
}

TEST_F(ClientFailureTest, ASilentListenerIsDeadlineExceeded) {
  SilentListener silent;
  ClientOptions options = OptionsFor(silent.address());
  options.deadline = absl::Milliseconds(100);
  std::shared_ptr<Client> client = NewClient(options);
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
}

TEST_F(ClientFailureTest, ARequestTheServerRefusesIsNotRetried) {
  EXPECT_THAT(client_->Set("not a namespace", "k", "v"),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client_->Get("ns", ""), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Set"}, {"code", "INVALID_ARGUMENT"}}),
            1);
}

TEST_F(ClientFailureTest, AConditionalSetToAStoppedServerIsNotRetried) {
  ASSERT_OK_AND_ASSIGN(auto stopped, LarderdProcess::Start());
  ClientOptions options = OptionsFor(stopped->grpc_address());
  options.retry.max_attempts = 1000;
  options.retry.budget_min_retries_per_second = 100;
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_OK(client->Set("ns", "k", "before").status());  // Connected.
  stopped->process().Stop();
  SetOptions if_absent;
  if_absent.if_absent = true;
  EXPECT_THAT(client->Set("ns", "new", "v", if_absent),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
}

TEST_F(ClientFailureTest, AFrozenServerIsDeadlineExceeded) {
  ClientOptions options = OptionsFor(server_->grpc_address());
  options.deadline = absl::Milliseconds(100);
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_OK(client->Set("ns", "k", "v").status());  // Connected.
  ASSERT_TRUE(StopAndWait(server_->process().pid()));
  EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(absl::StatusCode::kDeadlineExceeded));
  server_->process().Signal(SIGCONT);
  ASSERT_OK(client->Get("ns", "k").status());
}

TEST_F(ClientFailureTest, RetriesCarryACallAcrossARestartOnTheSamePort) {
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", PickFreePort());
  ASSERT_OK_AND_ASSIGN(auto first, LarderdProcess::Start({listen}));
  ClientOptions options = OptionsFor(first->grpc_address());
  options.deadline = absl::Seconds(20);
  options.retry.max_attempts = 1000;
  options.retry.initial_backoff = absl::Milliseconds(20);
  options.retry.max_backoff = absl::Milliseconds(100);
  options.retry.budget_min_retries_per_second = 100;
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_OK(client->Set("ns", "k", "before").status());
  first->process().Stop();
  std::future<absl::StatusOr<SetResult>> pending = client->SetAsync("ns", "k", "after");
  // Restart only once the call has failed and is retrying.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Metric("larder_client_retries_total", {}) < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(Metric("larder_client_retries_total", {}), 1);
  ASSERT_OK_AND_ASSIGN(auto second, LarderdProcess::Start({listen}));
  ASSERT_OK_AND_ASSIGN(SetResult stored, pending.get());
  EXPECT_TRUE(stored.stored);
  EXPECT_EQ(client->Get("ns", "k")->value, "after");
}

TEST_F(ClientFailureTest, TheRetryBudgetLimitsRetries) {
  const std::string closed = absl::StrCat("127.0.0.1:", PickFreePort());
  ClientOptions options = OptionsFor(closed);
  options.retry.max_attempts = 100;
  options.retry.initial_backoff = absl::ZeroDuration();
  options.retry.max_backoff = absl::ZeroDuration();
  options.retry.budget_ratio = 0.1;
  options.retry.budget_min_retries_per_second = 0;
  std::shared_ptr<Client> client = NewClient(options);
  for (int i = 0; i < 30; ++i) {
    EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 3);  // 10% of 30 calls.
}

}  // namespace
}  // namespace larder

// Which calls larder::Client retries: only UNAVAILABLE, and only for idempotent calls. A
// conditional write (if_absent, if_match) is attempted at most once, because its first attempt
// may have been applied before the failure reached the client.
//
// Two servers stand in for larderd: nothing listening (every attempt is UNAVAILABLE), and a
// larder.v1.Cache in this process (FakeLarder) that answers every call with one chosen status
// and counts the attempts it receives, for the codes a real larderd cannot be made to return.
// A Set attempt answered UNAVAILABLE stands for one the server applied before the answer was
// lost.
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/fake_larder.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/child_process.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::FakeLarder;
using ::larder::testing::MetricValue;
using ::larder::testing::PickFreePort;
using ::larder::testing::StatusCodeIs;

class ClientRetryTest : public ::testing::Test {
 protected:
  // Three attempts, a budget that never limits them, a deadline no retry sequence reaches.
  std::shared_ptr<Client> NewClient(const std::string& target) {
    ClientOptions options;
    options.target = target;
    options.deadline = absl::Seconds(10);
    options.metrics_registry = registry_;
    options.retry.max_attempts = 3;
    options.retry.budget_min_retries_per_second = 1000;
    auto client = Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *client : nullptr;
  }

  double Retries() const { return MetricValue(*registry_, "larder_client_retries_total", {}); }
  double Rpcs(const std::string& method, const std::string& code) const {
    return MetricValue(*registry_, "larder_client_rpcs_total",
                       {{"method", method}, {"code", code}});
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
};

SetOptions IfAbsent() {
  SetOptions options;
  options.if_absent = true;
  return options;
}

SetOptions IfMatch() {
  SetOptions options;
  options.if_match = "\"3f2a\"";
  return options;
}

// One public call, the RPC it makes, and whether an UNAVAILABLE answer is retried.
struct CallCase {
  std::string name;
  std::string method;
  std::function<absl::Status(Client&)> call;
  bool retried;
};

void PrintTo(const CallCase& call, std::ostream* os) { *os << call.name; }

std::vector<CallCase> CallCases() {
  const std::vector<SetEntry> plain = {{"a", "1", {}}, {"b", "2", {}}};
  const std::vector<SetEntry> one_conditional = {{"a", "1", {}}, {"b", "2", IfAbsent()}};
  return {
      {"Get", "Get", [](Client& c) { return c.Get("ns", "k").status(); }, true},
      {"MultiGet", "MultiGet",
       [](Client& c) {
         return c.MultiGet("ns", {"a", "b"}).status();
       },
       true},
      {"Stats", "Stats", [](Client& c) { return c.Stats("ns").status(); }, true},
      {"Set", "Set", [](Client& c) { return c.Set("ns", "k", "v").status(); }, true},
      {"MultiSet", "MultiSet", [plain](Client& c) { return c.MultiSet("ns", plain).status(); },
       true},
      {"Delete", "Delete", [](Client& c) { return c.Delete("ns", "k").status(); }, true},
      {"Touch", "Touch", [](Client& c) { return c.Touch("ns", "k").status(); }, true},
      {"Invalidate", "Invalidate",
       [](Client& c) { return c.Invalidate("ns", InvalidateTarget::Prefix("p")).status(); }, true},
      {"SetIfAbsent", "Set", [](Client& c) { return c.Set("ns", "k", "v", IfAbsent()).status(); },
       false},
      {"SetIfMatch", "Set", [](Client& c) { return c.Set("ns", "k", "v", IfMatch()).status(); },
       false},
      {"MultiSetWithOneConditionalEntry", "MultiSet",
       [one_conditional](Client& c) { return c.MultiSet("ns", one_conditional).status(); }, false},
  };
}

class RetriedCallsTest : public ClientRetryTest, public ::testing::WithParamInterface<CallCase> {};

TEST_P(RetriedCallsTest, NothingListeningIsRetriedOnlyWhenIdempotent) {
  std::shared_ptr<Client> client = NewClient(absl::StrCat("127.0.0.1:", PickFreePort()));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(GetParam().call(*client), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Retries(), GetParam().retried ? 2 : 0);  // max_attempts 3
  EXPECT_EQ(Rpcs(GetParam().method, "UNAVAILABLE"), 1);
}

INSTANTIATE_TEST_SUITE_P(Calls, RetriedCallsTest, ::testing::ValuesIn(CallCases()),
                         [](const ::testing::TestParamInfo<CallCase>& info) {
                           return info.param.name;
                         });

TEST_F(ClientRetryTest, AnAppliedConditionalSetIsAttemptedOnceAndReportsUnavailable) {
  FakeLarder server(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset"));
  std::shared_ptr<Client> client = NewClient(server.address());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Set("ns", "k", "v", IfAbsent()),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.attempts(), 1);
  EXPECT_THAT(client->Set("ns", "k", "v", IfMatch()), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.attempts(), 2);
  EXPECT_THAT(client->MultiSet("ns", {{"a", "1", {}}, {"b", "2", IfMatch()}}),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.attempts(), 3);
  EXPECT_EQ(Retries(), 0);
}

TEST_F(ClientRetryTest, AnUnconditionalSetAnsweredUnavailableIsRetried) {
  FakeLarder server(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  std::shared_ptr<Client> client = NewClient(server.address());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Set("ns", "k", "v"), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.attempts(), 3);
  EXPECT_EQ(Retries(), 2);
}

class NonRetriedCodesTest : public ClientRetryTest,
                            public ::testing::WithParamInterface<grpc::StatusCode> {};

TEST_P(NonRetriedCodesTest, AnIdempotentCallIsAttemptedOnce) {
  FakeLarder server(grpc::Status(GetParam(), "scripted failure"));
  std::shared_ptr<Client> client = NewClient(server.address());
  ASSERT_NE(client, nullptr);
  const auto code = static_cast<absl::StatusCode>(GetParam());
  EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(code));
  EXPECT_THAT(client->Set("ns", "k", "v"), StatusCodeIs(code));
  EXPECT_EQ(server.attempts(), 2);
  EXPECT_EQ(Retries(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Codes, NonRetriedCodesTest,
    ::testing::Values(grpc::StatusCode::DATA_LOSS, grpc::StatusCode::INTERNAL,
                      grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::INVALID_ARGUMENT,
                      grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::ABORTED,
                      grpc::StatusCode::UNKNOWN, grpc::StatusCode::UNAUTHENTICATED,
                      grpc::StatusCode::PERMISSION_DENIED),
    [](const ::testing::TestParamInfo<grpc::StatusCode>& info) {
      return absl::StatusCodeToString(static_cast<absl::StatusCode>(info.param));
    });

}  // namespace
}  // namespace larder

// Access control as the SDK sees it, against a larder.v1.Cache in this process (FakeLarder):
// the token reaches the server as `authorization: Bearer …` on every attempt, from each of its
// sources; denials (UNAUTHENTICATED, PERMISSION_DENIED) are attempted once and counted in
// larder_client_denied_total{namespace,code}; a cached function fails open when denied.
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/fake_larder.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::FakeLarder;
using ::larder::testing::MetricValue;
using ::larder::testing::StatusCodeIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::SizeIs;

class ClientAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv("LARDER_AUTH_TOKEN"); }
  void TearDown() override {
    unsetenv("LARDER_AUTH_TOKEN");
    larder::testing::RemoveTree(dir_);
  }

  ClientOptions Options() const {
    ClientOptions options;
    options.target = larder_.address();
    options.deadline = absl::Seconds(10);
    options.metrics_registry = registry_;
    options.retry.budget_min_retries_per_second = 1000;
    return options;
  }
  static std::shared_ptr<Client> NewClient(const ClientOptions& options) {
    auto client = Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *client : nullptr;
  }
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) const {
    return MetricValue(*registry_, name, labels);
  }

  const std::string dir_ = larder::testing::MakeTempDir("larder-client-auth");
  FakeLarder larder_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
};

TEST_F(ClientAuthTest, TheTokenIsSentAsBearerMetadataOnEveryAttemptOfEveryCall) {
  ClientOptions options = Options();
  options.auth_token = "s3cret.t0ken";
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Set("ns", "k", "v").status());
  ASSERT_OK(client->Get("ns", "k").status());
  ASSERT_OK(client->MultiSet("ns", {{"a", "1", {}}}).status());
  ASSERT_OK(client->Delete("ns", "k").status());
  larder_.set_answer(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"));
  EXPECT_THAT(client->Get("ns", "k"), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(larder_.authorizations(), SizeIs(4 + 3));  // The Get was attempted 3 times.
  EXPECT_THAT(larder_.authorizations(), Each(std::string("Bearer s3cret.t0ken")));
}

TEST_F(ClientAuthTest, WithoutATokenNoAuthorizationIsSent) {
  std::shared_ptr<Client> client = NewClient(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Get("ns", "k").status());
  EXPECT_THAT(larder_.authorizations(), ElementsAre(""));
}

TEST_F(ClientAuthTest, TheEnvironmentVariableIsUsedWhenNoOptionIsSet) {
  ASSERT_EQ(setenv("LARDER_AUTH_TOKEN", "from-env", 1), 0);
  ASSERT_OK(NewClient(Options())->Get("ns", "k").status());
  ClientOptions options = Options();
  options.auth_token = "from-option";
  ASSERT_OK(NewClient(options)->Get("ns", "k").status());
  EXPECT_THAT(larder_.authorizations(), ElementsAre("Bearer from-env", "Bearer from-option"));
}

TEST_F(ClientAuthTest, ARotatedTokenFileIsSentAfterTheNextCheck) {
  FakeClock clock;
  ClientOptions options = Options();
  options.clock = &clock;
  options.auth_token_file = dir_ + "/token";
  std::ofstream(options.auth_token_file) << "before-rotation\n";
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Get("ns", "k").status());
  std::ofstream(options.auth_token_file, std::ios::trunc) << "after\n";
  ASSERT_OK(client->Get("ns", "k").status());  // Within a second: not looked at yet.
  clock.Advance(absl::Seconds(1));
  ASSERT_OK(client->Get("ns", "k").status());
  EXPECT_THAT(larder_.authorizations(),
              ElementsAre("Bearer before-rotation", "Bearer before-rotation", "Bearer after"));
}

TEST_F(ClientAuthTest, CreateRefusesATokenThatCannotBeSent) {
  ClientOptions options = Options();
  options.auth_token = "abc\r\nX-Injected: 1";
  EXPECT_THAT(Client::Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  options.auth_token.clear();
  options.auth_token_file = dir_ + "/empty";
  std::ofstream(options.auth_token_file) << "\n";
  EXPECT_THAT(Client::Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  options.auth_token_file = dir_ + "/missing";
  EXPECT_THAT(Client::Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(larder_.attempts(), 0);
}

class DenialTest : public ClientAuthTest, public ::testing::WithParamInterface<grpc::StatusCode> {
 protected:
  absl::StatusCode code() const { return static_cast<absl::StatusCode>(GetParam()); }
  std::string code_name() const { return absl::StatusCodeToString(code()); }
  double Denied(const std::string& ns) const {
    return Metric("larder_client_denied_total", {{"namespace", ns}, {"code", code_name()}});
  }
};

TEST_P(DenialTest, IsAttemptedOnceAndCountedByNamespaceAndCode) {
  larder_.set_answer(grpc::Status(GetParam(), "principal web lacks write on namespace users"));
  std::shared_ptr<Client> client = NewClient(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Get("users", "k"), StatusCodeIs(code()));
  EXPECT_THAT(client->Set("users", "k", "v"), StatusCodeIs(code()));
  EXPECT_THAT(client->MultiSet("orders", {{"a", "1", {}}}), StatusCodeIs(code()));
  EXPECT_EQ(larder_.attempts(), 3);
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
  EXPECT_EQ(Denied("users"), 2);
  EXPECT_EQ(Denied("orders"), 1);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", code_name()}}), 1);
  // The lookup itself failed: counted as an error, like any failed lookup.
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "users"}, {"result", "error"}}),
            1);
}

TEST_P(DenialTest, ACachedFunctionFailsOpenAndCountsAnError) {
  larder_.set_answer(grpc::Status(GetParam(), "principal web lacks read on namespace users"));
  CachedOptions cached;
  cached.namespace_name = "users";
  cached.function_name = "square";
  std::atomic<int> calls{0};
  auto square = Cached(NewClient(Options()), cached, [&calls](int64_t x) {
    ++calls;
    return x * x;
  });
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(larder_.attempts(), 2);  // One lookup each; nothing stored after a failed lookup.
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "users"}, {"result", "error"}}),
            2);
  EXPECT_EQ(
      Metric("larder_client_lookup_errors_total", {{"namespace", "users"}, {"code", code_name()}}),
      2);
  EXPECT_EQ(Denied("users"), 2);
}

TEST_F(ClientAuthTest, OtherFailuresAreNotCountedAsDenials) {
  larder_.set_answer(grpc::Status(grpc::StatusCode::INTERNAL, "bug"));
  std::shared_ptr<Client> client = NewClient(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Get("users", "k"), StatusCodeIs(absl::StatusCode::kInternal));
  for (const char* code : {"UNAUTHENTICATED", "PERMISSION_DENIED", "INTERNAL"}) {
    EXPECT_LE(Metric("larder_client_denied_total", {{"namespace", "users"}, {"code", code}}), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Codes, DenialTest,
                         ::testing::Values(grpc::StatusCode::UNAUTHENTICATED,
                                           grpc::StatusCode::PERMISSION_DENIED),
                         [](const ::testing::TestParamInfo<grpc::StatusCode>& info) {
                           return absl::StatusCodeToString(
                               static_cast<absl::StatusCode>(info.param));
                         });

}  // namespace
}  // namespace larder

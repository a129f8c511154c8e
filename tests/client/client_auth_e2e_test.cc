// The SDK against the real larderd with --auth-tokens-file: the token sent by the client opens
// the namespaces its principal was granted, a missing token is UNAUTHENTICATED, a missing grant
// PERMISSION_DENIED; neither is retried, both are counted in larder_client_denied_total, a
// cached function fails open, and a rewritten token file is sent from the next check on.
#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "larder/cached.h"
#include "tests/client/client_fixture.h"
#include "tests/testing/fake_clock.h"

namespace larder {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::IsOkAndHolds;
using ::larder::testing::LarderdProcess;
using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The secrets of principals "catalog" (items) and "billing" (orders), and their SHA-256 in the
// tokens file (printf %s <token> | sha256sum).
constexpr char kToken[] = "sdk-e2e-token-1";
constexpr char kBillingToken[] = "sdk-e2e-token-2";
constexpr char kTokensFile[] =
    "# name   token   namespaces   permissions\n"
    "catalog sha256:510945979d42585fb2794e2df259dbdd713c83d4cd68d3b1b64ed0440d609f78 items "
    "read,write\n"
    "billing sha256:b46fa003fb88979dbc139179c87d054cb07276685b99478c24dfae9f1941dadf orders "
    "read,write\n";

class ClientAuthE2eTest : public testing::LarderdClientTest {
 protected:
  void SetUp() override {
    std::ofstream(dir_ + "/tokens") << kTokensFile;
    ASSERT_OK_AND_ASSIGN(server_,
                         LarderdProcess::Start({"--auth-tokens-file=" + dir_ + "/tokens"}));
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::shared_ptr<Client> ClientWith(const std::string& token) const {
    ClientOptions options = OptionsFor(server_->grpc_address());
    options.auth_token = token;
    return NewClient(options);
  }
  double Denied(const std::string& ns, const std::string& code) const {
    return Metric("larder_client_denied_total", {{"namespace", ns}, {"code", code}});
  }

  const std::string dir_ = testing::MakeTempDir("larder-client-auth-e2e");
};

TEST_F(ClientAuthE2eTest, TheTokenOpensTheGrantedNamespace) {
  std::shared_ptr<Client> client = ClientWith(kToken);
  ASSERT_OK(client->Set("items", "k", "v").status());
  EXPECT_THAT(client->Get("items", "k"), IsOkAndHolds(::testing::Field(&GetResult::value, "v")));
  EXPECT_EQ(Denied("items", "PERMISSION_DENIED"), -1);
}

TEST_F(ClientAuthE2eTest, NoTokenIsUnauthenticatedOnceAndCounted) {
  std::shared_ptr<Client> client = ClientWith("");
  EXPECT_THAT(client->Get("items", "k"), StatusCodeIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ClientWith("not-a-known-token")->Get("items", "k"),
              StatusCodeIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(Denied("items", "UNAUTHENTICATED"), 2);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "UNAUTHENTICATED"}}),
            2);
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
}

TEST_F(ClientAuthE2eTest, AMissingGrantIsPermissionDeniedNamingPrincipalAndNamespace) {
  std::shared_ptr<Client> client = ClientWith(kToken);
  EXPECT_THAT(client->Get("orders", "k"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("catalog"), HasSubstr("orders"), HasSubstr("read"),
                             Not(HasSubstr(kToken)))));
  EXPECT_THAT(client->Invalidate("items", InvalidateTarget::All()),
              StatusCodeIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(Denied("orders", "PERMISSION_DENIED"), 1);
  EXPECT_EQ(Denied("items", "PERMISSION_DENIED"), 1);
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
}

TEST_F(ClientAuthE2eTest, ACachedFunctionFailsOpenWhereItIsDenied) {
  CachedOptions options;
  options.namespace_name = "orders";
  options.function_name = "total";
  int calls = 0;
  auto total = Cached(ClientWith(kToken), options, [&calls](int64_t id) {
    ++calls;
    return id * 10;
  });
  EXPECT_EQ(total(4), 40);
  EXPECT_EQ(total(4), 40);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "orders"}, {"result", "error"}}),
            2);
  EXPECT_EQ(Denied("orders", "PERMISSION_DENIED"), 2);
}

TEST_F(ClientAuthE2eTest, ARewrittenTokenFileIsSentFromTheNextCheckOn) {
  FakeClock clock;
  ClientOptions options = OptionsFor(server_->grpc_address());
  options.clock = &clock;
  options.auth_token_file = dir_ + "/client-token";
  std::ofstream(options.auth_token_file) << kToken << "\n";
  std::shared_ptr<Client> client = NewClient(options);
  ASSERT_OK(client->Set("items", "k", "v").status());
  EXPECT_THAT(client->Get("orders", "k"), StatusCodeIs(absl::StatusCode::kPermissionDenied));

  std::ofstream(options.auth_token_file, std::ios::trunc) << "  " << kBillingToken << "\n";
  clock.Advance(absl::Seconds(1));
  EXPECT_OK(client->Set("orders", "k", "v").status());
  EXPECT_THAT(client->Get("items", "k"), StatusCodeIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace larder

// End to end: access control over mutual TLS. With --auth-tls-principal=cn a verified client
// certificate's common name stands for a principal of the tokens file (a token, when sent, wins);
// the plaintext --health-listen port answers health probes while the main port speaks TLS; and
// denials are counted in larder_auth_denied_total with bounded principal labels.
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/auth/tokens_file.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// A self-signed certificate with common name `cn` (and 127.0.0.1 as a SAN), made by openssl.
void MakeCertificate(const std::string& dir, const std::string& cn) {
  auto openssl = ChildProcess::Start({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                      "-nodes", "-days", "1", "-subj", "/CN=" + cn, "-addext",
                                      "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                                      dir + "/" + cn + ".key", "-out", dir + "/" + cn + ".crt"});
  ASSERT_TRUE(openssl.ok()) << openssl.status();
  int status = 0;
  ASSERT_TRUE((*openssl)->WaitForExit(absl::Seconds(60), &status));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << (*openssl)->LogTail();
}

constexpr auto Line = server::auth::TokensFileLine;

class LarderdAuthTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("larder-auth-tls");
    for (const char* cn : {"localhost", "ops", "stranger"}) MakeCertificate(dir_, cn);
    // Client certificates are self-signed: the client CA bundle is both of them.
    std::ofstream(dir_ + "/clients.pem")
        << ReadFile(dir_ + "/ops.crt") << ReadFile(dir_ + "/stranger.crt");
    std::ofstream(dir_ + "/tokens") << Line("ops", "unused-secret", "items", "read,write")
                                    << Line("reader", "reader-token", "items", "read")
                                    << Line("localhost", "unused-too", "items", "read");
    StartServer("cn");
  }

  void StartServer(const std::string& principal_from) {
    server_.reset();
    health_port_ = testing::PickFreePort();
    auto started = LarderdProcess::Start(
        {"--tls-cert-file=" + dir_ + "/localhost.crt", "--tls-key-file=" + dir_ + "/localhost.key",
         "--tls-client-ca-file=" + dir_ + "/clients.pem", "--auth-tokens-file=" + dir_ + "/tokens",
         "--auth-tls-principal=" + principal_from,
         absl::StrCat("--health-listen=127.0.0.1:", health_port_)});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started).value();
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::unique_ptr<v1::Cache::Stub> StubAs(const std::string& cn) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(dir_ + "/localhost.crt");
    tls.pem_private_key = ReadFile(dir_ + "/" + cn + ".key");
    tls.pem_cert_chain = ReadFile(dir_ + "/" + cn + ".crt");
    return v1::Cache::NewStub(
        grpc::CreateChannel(server_->grpc_address(), grpc::SslCredentials(tls)));
  }

  grpc::Status Set(v1::Cache::Stub& stub, const std::string& token = "") {
    v1::SetRequest request;
    request.set_namespace_("items");
    request.set_key("k");
    request.set_value("v");
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::SetResponse response;
    return stub.Set(&context, request, &response);
  }

  std::string dir_;
  int health_port_ = 0;
  std::unique_ptr<LarderdProcess> server_;
};

TEST_F(LarderdAuthTlsTest, ACertificateCommonNameIsAPrincipal) {
  EXPECT_TRUE(Set(*StubAs("ops")).ok());
}

TEST_F(LarderdAuthTlsTest, WithSanTheCertificatesDnsNameIsThePrincipal) {
  StartServer("san");
  grpc::Status status = Set(*StubAs("ops"));  // Its DNS SAN is "localhost": read only.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("\"localhost\""));
}

TEST_F(LarderdAuthTlsTest, ACertificateNamingNoPrincipalIsUnauthenticated) {
  grpc::Status status = Set(*StubAs("stranger"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("certificate"));
}

TEST_F(LarderdAuthTlsTest, ATokenWinsOverTheCertificate) {
  grpc::Status status = Set(*StubAs("ops"), "reader-token");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("\"reader\""));
}

TEST_F(LarderdAuthTlsTest, ThePlaintextHealthPortAnswersProbes) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port_),
                                     grpc::InsecureChannelCredentials());
  auto cache = testing::CheckHealth(channel, "larder.v1.Cache");
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(*cache, testing::HealthState::kServing);
  EXPECT_FALSE(testing::ListServicesByReflection(channel).ok());  // Health only.
}

TEST_F(LarderdAuthTlsTest, DenialsAreCountedByReasonAndPrincipal) {
  Set(*StubAs("stranger"));
  Set(*StubAs("ops"), "reader-token");
  std::vector<std::string> host_port = absl::StrSplit(server_->metrics_address(), ':');
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(host_port[1], &port));
  httplib::Client http(host_port[0], port);
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_THAT(response->body, HasSubstr("larder_auth_denied_total{principal=\"_unknown\","
                                        "reason=\"unauthenticated\"} 1"));
  EXPECT_THAT(response->body, HasSubstr("larder_auth_denied_total{principal=\"reader\","
                                        "reason=\"permission_denied\"} 1"));
  EXPECT_THAT(response->body, ::testing::Not(HasSubstr("reader-token")));
}

}  // namespace
}  // namespace larder

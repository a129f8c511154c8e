// TLS between the SDK and a real larderd: server-authenticated TLS, mutual TLS, and the
// failures a wrong configuration must give (never a silent plaintext fallback).
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

struct Certificate {
  std::string cert_path;
  std::string key_path;
  std::string cert_pem;
  std::string key_pem;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// A self-signed certificate for 127.0.0.1 / localhost, made with the openssl command.
Certificate MakeCertificate(const std::string& dir, const std::string& name) {
  Certificate made{dir + "/" + name + ".crt", dir + "/" + name + ".key", "", ""};
  auto openssl = ChildProcess::Start({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                      "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
                                      "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                                      made.key_path, "-out", made.cert_path});
  EXPECT_TRUE(openssl.ok());
  int status = 0;
  EXPECT_TRUE((*openssl)->WaitForExit(absl::Seconds(60), &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << (*openssl)->LogTail();
  made.cert_pem = ReadFile(made.cert_path);
  made.key_pem = ReadFile(made.key_path);
  return made;
}

class ClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("larder-tls"));
    server_cert_ = new Certificate(MakeCertificate(*dir_, "server"));
    client_cert_ = new Certificate(MakeCertificate(*dir_, "client"));
    stranger_cert_ = new Certificate(MakeCertificate(*dir_, "stranger"));
  }
  static void TearDownTestSuite() {
    testing::RemoveTree(*dir_);
    delete dir_;
    delete server_cert_;
    delete client_cert_;
    delete stranger_cert_;
  }

  std::unique_ptr<LarderdProcess> StartTlsServer(bool require_client_certificate) {
    std::vector<std::string> args = {"--tls-cert-file=" + server_cert_->cert_path,
                                     "--tls-key-file=" + server_cert_->key_path};
    if (require_client_certificate) {
      args.push_back("--tls-client-ca-file=" + client_cert_->cert_path);
    }
    auto server = LarderdProcess::Start(args);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static std::shared_ptr<Client> ClientOf(const LarderdProcess& server,
                                          std::optional<TlsOptions> tls) {
    ClientOptions options;
    options.target = server.grpc_address();
    options.deadline = absl::Seconds(5);  // A TLS handshake on a loaded machine.
    options.tls = std::move(tls);
    return Client::Create(options).value();
  }

  static std::string* dir_;
  static Certificate* server_cert_;
  static Certificate* client_cert_;
  static Certificate* stranger_cert_;
};

std::string* ClientTlsTest::dir_ = nullptr;
Certificate* ClientTlsTest::server_cert_ = nullptr;
Certificate* ClientTlsTest::client_cert_ = nullptr;
Certificate* ClientTlsTest::stranger_cert_ = nullptr;

TEST_F(ClientTlsTest, ClientTrustingTheServersCertificateTalksOverTls) {
  auto server = StartTlsServer(/*require_client_certificate=*/false);
  ASSERT_NE(server, nullptr);
  auto client = ClientOf(*server, TlsOptions{server_cert_->cert_pem, "", ""});
  ASSERT_OK(client->Set("tls", "k", "secret value").status());
  auto got = client->Get("tls", "k");
  ASSERT_OK(got.status());
  EXPECT_EQ(got->value, "secret value");
}

TEST_F(ClientTlsTest, PlaintextClientCannotTalkToATlsServer) {
  auto server = StartTlsServer(false);
  ASSERT_NE(server, nullptr);
  auto client = ClientOf(*server, std::nullopt);
  EXPECT_FALSE(client->Get("tls", "k").ok());
}

TEST_F(ClientTlsTest, ClientTrustingAnotherRootRefusesTheServer) {
  auto server = StartTlsServer(false);
  ASSERT_NE(server, nullptr);
  auto client = ClientOf(*server, TlsOptions{stranger_cert_->cert_pem, "", ""});
  EXPECT_FALSE(client->Get("tls", "k").ok());
}

TEST_F(ClientTlsTest, MutualTlsNeedsAClientCertificateTheServerTrusts) {
  auto server = StartTlsServer(/*require_client_certificate=*/true);
  ASSERT_NE(server, nullptr);
  auto anonymous = ClientOf(*server, TlsOptions{server_cert_->cert_pem, "", ""});
  EXPECT_FALSE(anonymous->Get("tls", "k").ok());
  auto stranger = ClientOf(*server, TlsOptions{server_cert_->cert_pem, stranger_cert_->cert_pem,
                                               stranger_cert_->key_pem});
  EXPECT_FALSE(stranger->Get("tls", "k").ok());
  auto trusted = ClientOf(
      *server, TlsOptions{server_cert_->cert_pem, client_cert_->cert_pem, client_cert_->key_pem});
  EXPECT_OK(trusted->Set("tls", "k", "v").status());
}

TEST_F(ClientTlsTest, HalfATlsConfigurationStopsLarderdWithTheFlagsNamed) {
  auto process = ChildProcess::Start({testing::LarderdBinaryPath(), "--listen=127.0.0.1:0",
                                      "--tls-cert-file=" + server_cert_->cert_path});
  ASSERT_TRUE(process.ok());
  int status = 0;
  ASSERT_TRUE((*process)->WaitForExit(absl::Seconds(20), &status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_THAT((*process)->LogTail(), HasSubstr("--tls-key-file"));
}

}  // namespace
}  // namespace larder

// LarderdClientTest: a gtest fixture with a real larderd and a client of it on a fresh metrics
// registry, plus a listener that never accepts (a server too slow to answer).
//
//   TEST_F(LarderdClientTest, Something) {
//     ASSERT_OK(client_->Set("ns", "k", "v").status());
//     EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
//     EXPECT_THAT(client_->Delete("ns", "k"), IsOkAndHolds(true));
//   }
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {

// Matches an OK absl::StatusOr whose value matches `inner`.
MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

// A TCP listener on 127.0.0.1 whose connections the kernel completes but nobody serves.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(fd_, 64) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentListener() { close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class LarderdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, LarderdProcess::Start());
    client_ = NewClient(server_->grpc_address());
    ASSERT_NE(client_, nullptr);
  }

  // Options for tests: a generous deadline, so a busy machine does not fail them.
  ClientOptions OptionsFor(const std::string& target) const {
    ClientOptions options;
    options.target = target;
    options.deadline = absl::Seconds(5);
    options.metrics_registry = registry_;
    return options;
  }

  std::shared_ptr<Client> NewClient(const std::string& target) const {
    return NewClient(OptionsFor(target));
  }
  static std::shared_ptr<Client> NewClient(const ClientOptions& options) {
    auto client = Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *client : nullptr;
  }

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) const {
    return MetricValue(*registry_, name, labels);
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<LarderdProcess> server_;
  std::shared_ptr<Client> client_;
};

}  // namespace larder::testing

// LarderdProcess: the real larderd binary, started on free loopback ports for an end-to-end
// test, with a gRPC channel to it.
//
//   auto server = LarderdProcess::Start({"--default-ttl=5m"});
//   auto stub = larder::v1::Cache::NewStub((*server)->channel());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "tests/testing/child_process.h"

namespace larder::testing {

class LarderdProcess {
 public:
  // Runs larderd with --listen=127.0.0.1:0 --metrics-address=127.0.0.1:0 plus `args`, and
  // waits for its "larderd ready" line (printed once the engine is usable; the log on standard
  // error, log_path(), says what it waits for). The binary is $LARDERD_BINARY, else the build's
  // own.
  static absl::StatusOr<std::unique_ptr<LarderdProcess>> Start(
      const std::vector<std::string>& args = {}, const std::vector<std::string>& env = {});

  // "127.0.0.1:PORT" of the gRPC service and of /metrics.
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  std::shared_ptr<grpc::Channel> channel() const;
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string grpc_address_;
  std::string metrics_address_;
};

// The path of the larderd binary under test.
std::string LarderdBinaryPath();

}  // namespace larder::testing

#include "tests/testing/larderd_process.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace larder::testing {
namespace {

// Finds "name=value" among the words of the ready line.
std::string Field(const std::string& line, absl::string_view name) {
  for (absl::string_view word : absl::StrSplit(line, ' ')) {
    if (absl::ConsumePrefix(&word, absl::StrCat(name, "="))) return std::string(word);
  }
  return "";
}

}  // namespace

std::string LarderdBinaryPath() {
  const char* from_env = getenv("LARDERD_BINARY");
  return from_env != nullptr ? from_env : LARDER_LARDERD_PATH;
}

absl::StatusOr<std::unique_ptr<LarderdProcess>> LarderdProcess::Start(
    const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {LarderdBinaryPath(), "--listen=127.0.0.1:0",
                                   "--metrics-address=127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = ChildProcess::Start(argv, env);
  if (!process.ok()) return process.status();
  auto line = (*process)->WaitForLine("larderd ready", absl::Seconds(30));
  if (!line.ok()) return line.status();
  auto server = std::unique_ptr<LarderdProcess>(new LarderdProcess());
  server->process_ = *std::move(process);
  server->grpc_address_ = Field(*line, "grpc");
  server->metrics_address_ = Field(*line, "metrics");
  if (server->grpc_address_.empty()) {
    return absl::InternalError(absl::StrCat("unparsable ready line: ", *line));
  }
  return server;
}

std::shared_ptr<grpc::Channel> LarderdProcess::channel() const {
  return grpc::CreateChannel(grpc_address_, grpc::InsecureChannelCredentials());
}

}  // namespace larder::testing

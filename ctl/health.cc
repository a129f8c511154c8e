#include "ctl/health.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"

namespace larder::ctl {
namespace {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CredentialsFor(
    const GlobalOptions& global) {
  if (global.tls_ca_file.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFile(global.tls_ca_file);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *ca;
  if (!global.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(global.tls_cert_file);
    absl::StatusOr<std::string> key = ReadFile(global.tls_key_file);
    if (!cert.ok()) return cert.status();
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// HealthCheckRequest{service = 1}: a length-delimited field (service names are short).
std::string EncodeRequest(const std::string& service) {
  if (service.empty()) return "";
  return absl::StrCat(std::string(1, '\x0a'), std::string(1, static_cast<char>(service.size())),
                      service);
}

// HealthCheckResponse{status = 1}: a varint field, absent when 0 (UNKNOWN).
std::string DecodeStatus(const std::string& bytes) {
  static constexpr const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  if (bytes.size() >= 2 && bytes[0] == 0x08 && bytes[1] >= 0 && bytes[1] <= 3) {
    return kNames[static_cast<int>(bytes[1])];
  }
  return "UNKNOWN";
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

absl::StatusOr<std::string> CheckHealth(const GlobalOptions& global, const std::string& service) {
  if (service.size() > 127) return absl::InvalidArgumentError("health: service name too long");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = CredentialsFor(global);
  if (!credentials.ok()) return credentials.status();
  grpc::GenericStub stub(grpc::CreateChannel(global.target, *credentials));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + global.timeout));
  grpc::Slice slice(EncodeRequest(service));
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status outcome) {
                   status = std::move(outcome);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("Health: ", status.error_message()));
  }
  return DecodeStatus(Flatten(response));
}

}  // namespace larder::ctl

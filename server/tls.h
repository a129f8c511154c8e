// Server TLS for larderd: gRPC server credentials from PEM files (optionally requiring client
// certificates signed by a given CA, i.e. mutual TLS). Without a certificate, plaintext.
//
//   TlsServerOptions tls{.cert_file = "/etc/larder/tls.crt", .key_file = "/etc/larder/tls.key"};
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
//   ServerCredentialsFor(tls);
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace larder::server {

struct TlsServerOptions {
  // PEM certificate chain and private key; both empty means plaintext. Default: empty.
  std::string cert_file;
  std::string key_file;
  // PEM CA bundle; when set, clients must present a certificate it signed. Default: empty.
  std::string client_ca_file;
};

// kInvalidArgument naming the flag when only one of cert/key is set or the CA is set without
// them; kInvalidArgument naming the file when it cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsServerOptions& options);

}  // namespace larder::server

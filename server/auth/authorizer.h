// Authorizer: decides, for each larder.v1 call, whether larderd serves it. It authenticates the
// caller — a bearer token (`authorization: Bearer <token>` metadata), or with mutual TLS a client
// certificate whose CN or DNS SAN names a principal — and checks the permission the RPC needs on
// its namespace against the tokens file (tokens_file.h). The file can be reloaded while serving:
// a valid new file replaces the table atomically; an invalid one is refused and the old one
// stays.
//
//   auto authorizer = Authorizer::Create({.tokens_file = "/etc/larder/auth/tokens"});
//   absl::Status allowed = (*authorizer)->Check({.authorization = header}, "items",
//                                               Permission::kRead);
//
// Thread-safe. Check() takes no lock: it reads the current table through an atomic pointer,
// hashes a new token with SHA-256 and looks the hash up; a token this thread already verified
// costs a seeded hash and a constant-time compare (about 500 instructions in all, measured by
// bench/auth_cost.sh). Tables replaced by a reload are kept until the Authorizer is destroyed (a
// few bytes per line, once per reload), so a Check racing a reload never reads freed memory.
// Never logs or returns a token; refusals are logged at most once per 10 s, naming the principal.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/auth_table.h"

namespace larder::server::auth {

// Which name of a TLS client certificate stands for a principal.
enum class TlsPrincipal { kNone, kCommonName, kSubjectAltName };

struct AuthorizerOptions {
  // The tokens file; required.
  std::string tokens_file;
  // With mutual TLS, a certificate's name may stand for a principal. Default: kNone.
  TlsPrincipal tls_principal = TlsPrincipal::kNone;
};

// Who is calling, as the transport saw it.
struct Caller {
  // The `authorization` metadata, e.g. "Bearer 2f1c…"; empty when absent.
  absl::string_view authorization;
  // The verified client certificate's common names and DNS SANs (empty without mutual TLS).
  std::vector<std::string> certificate_common_names;
  std::vector<std::string> certificate_dns_names;
};

// One larder_auth_denied_total series.
struct DenialCount {
  std::string reason;     // "unauthenticated" or "permission_denied"
  std::string principal;  // A principal's name, or "_unknown" / "_other".
  int64_t count = 0;
};

class Authorizer {
 public:
  // kInvalidArgument / kNotFound naming the file and line when it cannot be loaded.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(AuthorizerOptions options);

  // OK when `caller` may do `permission` on `ns` ("" for server-wide calls). kUnauthenticated
  // for a missing, malformed or unknown credential; kPermissionDenied naming the principal, the
  // namespace and the missing permission. Counts every denial.
  absl::Status Check(const Caller& caller, absl::string_view ns, Permission permission);

  // Re-reads the tokens file. On success the new table serves the next Check; on error the
  // current table stays and the error (naming the line) is returned. Returns the number of
  // principals now in force.
  absl::StatusOr<size_t> Reload() ABSL_LOCKS_EXCLUDED(mutex_);
  // True when the file's size, modification time or inode differ from the last load (secret
  // volumes are updated by swapping a symlink, which stat() follows).
  bool FileChanged() const ABSL_LOCKS_EXCLUDED(mutex_);

  std::vector<DenialCount> Denials() const ABSL_LOCKS_EXCLUDED(mutex_);
  const std::string& tokens_file() const { return options_.tokens_file; }

 private:
  explicit Authorizer(AuthorizerOptions options) : options_(std::move(options)) {}
  const Principal* Authenticate(const AuthTable& table, const Caller& caller,
                                absl::Status& error) const;
  void CountDenial(absl::string_view reason, absl::string_view principal)
      ABSL_LOCKS_EXCLUDED(mutex_);

  const AuthorizerOptions options_;
  std::atomic<const AuthTable*> current_{nullptr};
  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<const AuthTable>> tables_ ABSL_GUARDED_BY(mutex_);
  struct stat loaded_stat_ ABSL_GUARDED_BY(mutex_) {};
  absl::flat_hash_map<std::string, int64_t> denials_ ABSL_GUARDED_BY(mutex_);
  absl::Time last_denial_log_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  int64_t unlogged_denials_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::server::auth

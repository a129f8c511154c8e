// AuthToken: the bearer token a larder::Client sends to a larderd started with
// --auth-tokens-file, taken from ClientOptions::auth_token, else the file named by
// ClientOptions::auth_token_file (re-read when it changes), else $LARDER_AUTH_TOKEN.
//
//   LARDER_ASSIGN_OR_RETURN(std::unique_ptr<AuthToken> token,
//                           AuthToken::Create(options, clock, std::getenv));
//   std::string value = token->HeaderValue();     // "Bearer …", or "" without a token
//   if (!value.empty()) context.AddMetadata("authorization", value);
//
// The token never appears in a status message or a log line; paths and reasons do.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/src/rate_limited_log.h"
#include "larder/client_options.h"
#include "larder/common/clock.h"

namespace larder::client::internal {

// The environment variable read when neither option is set.
inline constexpr char kAuthTokenEnvironmentVariable[] = "LARDER_AUTH_TOKEN";
// How often, at most, the calling path looks at the token file (on the client's clock).
inline constexpr absl::Duration kTokenFileCheckInterval = absl::Seconds(1);
// A token file larger than this is refused (a token is a few dozen bytes).
inline constexpr int64_t kMaxTokenFileBytes = 64 * 1024;

// Whether `token` can be sent: 1 or more bytes, each visible ASCII (0x21-0x7E), so no space,
// CR, LF, NUL, other control byte or non-ASCII byte. kInvalidArgument naming `source` (never
// the token) otherwise.
absl::Status ValidateToken(absl::string_view token, absl::string_view source);

// Thread-safe.
class AuthToken {
 public:
  // Returns getenv's answer for a name (nullptr when unset).
  using Environment = std::function<const char*(const char*)>;

  // Chooses the source by precedence: options.auth_token, then options.auth_token_file, then
  // `environment`'s LARDER_AUTH_TOKEN (an empty value counts as unset); none gives a client
  // without a token. The token file is read now. kInvalidArgument when the chosen source holds
  // an unusable token (ValidateToken; a file's surrounding whitespace is trimmed first), or the
  // file cannot be read or exceeds kMaxTokenFileBytes. `clock` must outlive the AuthToken;
  // `log` null writes to standard error.
  static absl::StatusOr<std::unique_ptr<AuthToken>> Create(const ClientOptions& options,
                                                           const Clock& clock,
                                                           const Environment& environment,
                                                           RateLimitedLog::Sink log = nullptr);

  // "Bearer <token>", or empty without a token. With a token file, once kTokenFileCheckInterval
  // has passed on the clock since the last look, first calls Refresh (on this caller's thread;
  // callers meanwhile get the current token). Cost: a copy of the token; a stat(2) per interval
  // and a read of the file when it changed.
  std::string HeaderValue();

  // Looks at the token file now: when its modification time, size, inode or device changed,
  // re-reads it. A file that cannot be stat'ed or read, or holds an unusable token, keeps the
  // last good token, is logged (one line per minute at most, without the token) and is tried
  // again at the next look. Returns that failure, or OK. A no-op without a token file.
  absl::Status Refresh();

  // Where the token comes from, for messages: "auth_token", "auth_token_file <path>",
  // "LARDER_AUTH_TOKEN" or "none".
  const std::string& source() const { return source_; }

 private:
  // What identifies a version of the token file.
  struct FileStamp {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    ino_t inode = 0;
    dev_t device = 0;
    bool operator==(const FileStamp& other) const;
  };

  AuthToken(const Clock& clock, std::string source, std::string fixed_header_value,
            std::string path, RateLimitedLog::Sink log);
  static absl::StatusOr<FileStamp> Stat(const std::string& path);
  static absl::StatusOr<std::string> ReadToken(const std::string& path);
  // Re-reads the file when its stamp changed; the failure as is (nothing logged).
  absl::Status Reload(bool log_success);

  const Clock& clock_;
  const std::string source_;
  // The header value of a token given directly (or none): never changes.
  const std::string fixed_header_value_;
  // The token file; empty without one.
  const std::string path_;
  RateLimitedLog log_;
  absl::Mutex mutex_;
  std::string file_header_value_ ABSL_GUARDED_BY(mutex_);
  FileStamp stamp_ ABSL_GUARDED_BY(mutex_);
  absl::Time next_check_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace larder::client::internal

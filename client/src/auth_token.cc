#include "client/src/auth_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"

namespace larder::client::internal {
namespace {

constexpr absl::string_view kBearer = "Bearer ";
constexpr absl::Duration kLogInterval = absl::Minutes(1);

absl::Status FileError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("auth_token_file ", path, ": ", what));
}

}  // namespace

absl::Status ValidateToken(absl::string_view token, absl::string_view source) {
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  for (const char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(source,
                       " holds a byte that cannot be sent in a header (space, CR, LF, a control or "
                       "non-ASCII byte)"));
    }
  }
  return absl::OkStatus();
}

bool AuthToken::FileStamp::operator==(const FileStamp& other) const {
  return mtime_ns == other.mtime_ns && size == other.size && inode == other.inode &&
         device == other.device;
}

absl::StatusOr<std::unique_ptr<AuthToken>> AuthToken::Create(const ClientOptions& options,
                                                             const Clock& clock,
                                                             const Environment& environment,
                                                             RateLimitedLog::Sink log) {
  if (!options.auth_token.empty()) {
    LARDER_RETURN_IF_ERROR(ValidateToken(options.auth_token, "ClientOptions.auth_token"));
    return std::unique_ptr<AuthToken>(new AuthToken(
        clock, "auth_token", absl::StrCat(kBearer, options.auth_token), "", std::move(log)));
  }
  if (!options.auth_token_file.empty()) {
    const std::string& path = options.auth_token_file;
    auto token = std::unique_ptr<AuthToken>(
        new AuthToken(clock, absl::StrCat("auth_token_file ", path), "", path, std::move(log)));
    LARDER_RETURN_IF_ERROR(token->Reload(/*log_success=*/false));
    {
      absl::MutexLock lock(&token->mutex_);
      token->next_check_ = clock.Now() + kTokenFileCheckInterval;
    }
    return token;
  }
  const char* from_environment = environment ? environment(kAuthTokenEnvironmentVariable) : nullptr;
  if (from_environment == nullptr || *from_environment == '\0') {
    return std::unique_ptr<AuthToken>(new AuthToken(clock, "none", "", "", std::move(log)));
  }
  LARDER_RETURN_IF_ERROR(ValidateToken(from_environment, kAuthTokenEnvironmentVariable));
  return std::unique_ptr<AuthToken>(new AuthToken(clock, kAuthTokenEnvironmentVariable,
                                                  absl::StrCat(kBearer, from_environment), "",
                                                  std::move(log)));
}

AuthToken::AuthToken(const Clock& clock, std::string source, std::string fixed_header_value,
                     std::string path, RateLimitedLog::Sink log)
    : clock_(clock),
      source_(std::move(source)),
      fixed_header_value_(std::move(fixed_header_value)),
      path_(std::move(path)),
      log_(clock, kLogInterval, std::move(log)) {}

std::string AuthToken::HeaderValue() {
  if (path_.empty()) return fixed_header_value_;
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mutex_);
    if (now < next_check_) return file_header_value_;
    next_check_ = now + kTokenFileCheckInterval;  // Other callers keep the current token.
  }
  Refresh().IgnoreError();  // Logged; the last good token stays.
  absl::MutexLock lock(&mutex_);
  return file_header_value_;
}

absl::Status AuthToken::Refresh() {
  if (path_.empty()) return absl::OkStatus();
  absl::Status reloaded = Reload(/*log_success=*/true);
  if (!reloaded.ok()) {
    log_.Log("token-file", absl::StrCat(reloaded.message(), "; keeping the previous auth token"));
  }
  return reloaded;
}

absl::Status AuthToken::Reload(bool log_success) {
  LARDER_ASSIGN_OR_RETURN(const FileStamp stamp, Stat(path_));
  {
    absl::MutexLock lock(&mutex_);
    if (stamp == stamp_) return absl::OkStatus();
  }
  LARDER_ASSIGN_OR_RETURN(const std::string token, ReadToken(path_));
  {
    absl::MutexLock lock(&mutex_);
    file_header_value_ = absl::StrCat(kBearer, token);
    stamp_ = stamp;
  }
  if (log_success) log_.Log("token-file-reloaded", absl::StrCat("re-read ", source_));
  return absl::OkStatus();
}

absl::StatusOr<AuthToken::FileStamp> AuthToken::Stat(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return FileError(path, std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return FileError(path, "not a regular file");
  FileStamp stamp;
  stamp.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  stamp.size = static_cast<int64_t>(info.st_size);
  stamp.inode = info.st_ino;
  stamp.device = info.st_dev;
  return stamp;
}

absl::StatusOr<std::string> AuthToken::ReadToken(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return FileError(path, std::strerror(errno));
  std::string contents(static_cast<size_t>(kMaxTokenFileBytes) + 1, '\0');
  file.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (file.bad()) return FileError(path, "read failed");
  contents.resize(static_cast<size_t>(file.gcount()));
  if (contents.size() > static_cast<size_t>(kMaxTokenFileBytes)) {
    return FileError(path, absl::StrCat("larger than ", kMaxTokenFileBytes, " bytes"));
  }
  const absl::string_view token = absl::StripAsciiWhitespace(contents);
  LARDER_RETURN_IF_ERROR(ValidateToken(token, absl::StrCat("auth_token_file ", path)));
  return std::string(token);
}

}  // namespace larder::client::internal

// RateLimitedLog: the SDK's one-line diagnostics (a token file that cannot be re-read, a stored
// HTTP record refused), at most one line per cause per interval, so a persistent fault never
// floods the service's log. Lines carry no secrets and no untrusted bytes: callers pass only
// their own words, paths and counts.
//
//   RateLimitedLog log(clock, absl::Minutes(1));
//   log.Log("token-file", absl::StrCat("cannot re-read auth_token_file ", path, ": ", why));
//   // -> "larder: cannot re-read auth_token_file /run/secrets/larder: …" on stderr, then
//   //    silence for that cause for a minute; the next line says how many were suppressed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/common/clock.h"
#include "larder/common/log_rate_limiter.h"

namespace larder::client::internal {

// `message` cut to 300 bytes, with bytes outside printable ASCII as '?': what a status message
// from larderd or a coder may carry into a log line.
std::string LoggableText(absl::string_view message);

// Writes `line` (no trailing newline) and a newline to standard error.
void WriteToStderr(absl::string_view line);

// Thread-safe.
class RateLimitedLog {
 public:
  using Sink = std::function<void(absl::string_view line)>;

  // `clock` must outlive the log. A null `sink` writes to the process's sink (larder::SetLogSink
  // in larder/log.h; standard error by default).
  RateLimitedLog(const Clock& clock, absl::Duration interval, Sink sink = nullptr);

  // Writes "larder: " + message (plus " (N more suppressed)" when lines of this cause were
  // dropped since the last one) unless a line of `cause` was written less than `interval`
  // ago on the clock (LogRateLimiter); then only counts it. Returns whether a line was
  // written. Causes are a small fixed set of names chosen by the caller.
  bool Log(absl::string_view cause, absl::string_view message);

 private:
  LogRateLimiter limiter_;
  const Sink sink_;
};

}  // namespace larder::client::internal

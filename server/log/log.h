// Structured logging of larderd: one line per event that matters (start, engine lost and
// recovered, readiness, configuration reloads, shutdown), written to stderr with one write(2) so
// lines of different threads never interleave. Text by default, JSON with --log-format=json:
//
//   2026-12-01T03:00:00.123Z WARN engine_lost engine=redis cause="connection refused"
//   {"ts":"2026-12-01T03:00:00.123Z","level":"WARN","event":"engine_lost","engine":"redis",...}
//
//   larder::server::Log(Severity::kWarning, "engine_lost", {{"engine", "redis"}, {"cause", why}});
//
// Never log a secret: callers redact (RedactUrlPassword) before a value reaches a field.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "larder/common/clock.h"

namespace larder::server {

enum class Severity { kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// "text" or "json" (case-insensitive); false for anything else.
bool ParseLogFormat(absl::string_view text, LogFormat* format);

// One key=value of a line. Strings are quoted when needed (text) and always (JSON); numbers and
// booleans are written bare in both.
struct LogField {
  LogField(absl::string_view key, absl::string_view value) : key(key), value(value) {}
  LogField(absl::string_view key, const char* value) : key(key), value(value) {}
  LogField(absl::string_view key, const std::string& value) : key(key), value(value) {}
  LogField(absl::string_view key, int64_t value);
  LogField(absl::string_view key, int value) : LogField(key, static_cast<int64_t>(value)) {}
  LogField(absl::string_view key, uint64_t value);
  LogField(absl::string_view key, bool value);
  LogField(absl::string_view key, absl::Duration value);       // "1.5s", a string
  LogField(absl::string_view key, const absl::Status& value);  // its message, a string

  std::string key;
  std::string value;
  bool bare = false;  // A number or boolean: never quoted.
};

// The line (ending in '\n') for an event at `now`. Any bytes may appear in values: the text form
// escapes quotes, backslashes, control and non-ASCII bytes (\xHH); the JSON form is valid UTF-8
// JSON whatever the input (a byte that is not part of valid UTF-8 becomes the code point of the
// same number, U+0080..U+00FF). Pure and thread-safe.
std::string FormatLogLine(LogFormat format, absl::Time now, Severity severity,
                          absl::string_view event, absl::Span<const LogField> fields);

// Writes one line to `fd` with a single write(2) (retried only for the rest of a short write).
void WriteLogLine(int fd, absl::string_view line);

// The process-wide log: stderr, text until SetLogFormat, the real clock. Thread-safe.
void SetLogFormat(LogFormat format);
void Log(Severity severity, absl::string_view event, absl::Span<const LogField> fields = {});

}  // namespace larder::server

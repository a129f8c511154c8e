#include "server/log/log.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace larder::server {
namespace {

std::atomic<LogFormat> global_format{LogFormat::kText};

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarning:
      return "WARN";
    case Severity::kError:
      return "ERROR";
  }
  return "INFO";
}

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

// Text form: printable ASCII as is, the rest escaped, so a line is always one line of ASCII.
void AppendTextValue(std::string& out, absl::string_view value) {
  if (!NeedsQuotes(value)) {
    out.append(value.data(), value.size());
    return;
  }
  out.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (c < ' ' || c >= 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

// Length of the valid UTF-8 sequence at the start of `s` (no overlongs, surrogates or code
// points past U+10FFFF), or 0 when it does not start with one.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // Overlong.
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // Surrogate.
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // Overlong.
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // Past U+10FFFF.
    return 4;
  }
  return 0;
}

void AppendJsonString(std::string& out, absl::string_view value) {
  out.push_back('"');
  while (!value.empty()) {
    const unsigned char c = static_cast<unsigned char>(value[0]);
    const size_t length = Utf8SequenceLength(value);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c < ' ' || c == 0x7f || length == 0) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.append(value.data(), length);
      value.remove_prefix(length);
      continue;
    }
    value.remove_prefix(1);
  }
  out.push_back('"');
}

std::string Timestamp(absl::Time now) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone());
}

}  // namespace

bool ParseLogFormat(absl::string_view text, LogFormat* format) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text") *format = LogFormat::kText;
  if (lower == "json") *format = LogFormat::kJson;
  return lower == "text" || lower == "json";
}

LogField::LogField(absl::string_view key, int64_t value)
    : key(key), value(absl::StrCat(value)), bare(true) {}
LogField::LogField(absl::string_view key, uint64_t value)
    : key(key), value(absl::StrCat(value)), bare(true) {}
LogField::LogField(absl::string_view key, bool value)
    : key(key), value(value ? "true" : "false"), bare(true) {}
LogField::LogField(absl::string_view key, absl::Duration value)
    : key(key), value(absl::FormatDuration(value)) {}
LogField::LogField(absl::string_view key, const absl::Status& value)
    : key(key), value(value.ok() ? "OK" : std::string(value.message())) {}

std::string FormatLogLine(LogFormat format, absl::Time now, Severity severity,
                          absl::string_view event, absl::Span<const LogField> fields) {
  std::string line;
  if (format == LogFormat::kText) {
    absl::StrAppend(&line, Timestamp(now), " ", SeverityName(severity), " ");
    AppendTextValue(line, event);
    for (const LogField& field : fields) {
      line.push_back(' ');
      AppendTextValue(line, field.key);
      line.push_back('=');
      AppendTextValue(line, field.value);
    }
  } else {
    absl::StrAppend(&line, "{\"ts\":\"", Timestamp(now), "\",\"level\":\"", SeverityName(severity),
                    "\",\"event\":");
    AppendJsonString(line, event);
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendJsonString(line, field.key);
      line.push_back(':');
      if (field.bare) {
        line.append(field.value);
      } else {
        AppendJsonString(line, field.value);
      }
    }
    line.push_back('}');
  }
  line.push_back('\n');
  return line;
}

void WriteLogLine(int fd, absl::string_view line) {
  while (!line.empty()) {
    const ssize_t written = write(fd, line.data(), line.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // Nowhere to report a failing log.
    line.remove_prefix(static_cast<size_t>(written));
  }
}

void SetLogFormat(LogFormat format) { global_format.store(format, std::memory_order_relaxed); }

void Log(Severity severity, absl::string_view event, absl::Span<const LogField> fields) {
  WriteLogLine(STDERR_FILENO, FormatLogLine(global_format.load(std::memory_order_relaxed),
                                            Clock::Real().Now(), severity, event, fields));
}

}  // namespace larder::server

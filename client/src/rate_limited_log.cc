#include "client/src/rate_limited_log.h"

#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "larder/log.h"

namespace larder {
namespace {

struct GlobalSink {
  absl::Mutex mutex;
  std::shared_ptr<const LogSink> sink ABSL_GUARDED_BY(mutex);
};

GlobalSink& Global() {
  static GlobalSink* const global = new GlobalSink;  // Never destroyed: logged to at exit.
  return *global;
}

}  // namespace

void SetLogSink(LogSink sink) {
  auto shared = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
  GlobalSink& global = Global();
  absl::MutexLock lock(&global.mutex);
  global.sink = std::move(shared);
}

}  // namespace larder

namespace larder::client::internal {
namespace {

// The sink SetLogSink chose, else standard error.
void WriteToProcessSink(absl::string_view line) {
  std::shared_ptr<const LogSink> sink;
  {
    GlobalSink& global = Global();
    absl::MutexLock lock(&global.mutex);
    sink = global.sink;
  }
  if (sink != nullptr) return (*sink)(line);
  WriteToStderr(line);
}

}  // namespace

std::string LoggableText(absl::string_view message) {
  constexpr size_t kMaxLoggedBytes = 300;
  std::string out(message.substr(0, kMaxLoggedBytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

void WriteToStderr(absl::string_view line) {
  std::string with_newline = absl::StrCat(line, "\n");
  std::fwrite(with_newline.data(), 1, with_newline.size(), stderr);
  std::fflush(stderr);
}

RateLimitedLog::RateLimitedLog(const Clock& clock, absl::Duration interval, Sink sink)
    : limiter_(clock, interval), sink_(sink ? std::move(sink) : Sink(WriteToProcessSink)) {}

bool RateLimitedLog::Log(absl::string_view cause, absl::string_view message) {
  const std::optional<int64_t> suppressed = limiter_.Allow(cause);
  if (!suppressed.has_value()) return false;
  std::string line = absl::StrCat("larder: ", message);
  if (*suppressed > 0) absl::StrAppend(&line, " (", *suppressed, " more suppressed)");
  sink_(line);
  return true;
}

}  // namespace larder::client::internal

// larder::SetLogSink: where the SDK's diagnostic lines go. The SDK writes a line when it fails
// open (a cached function or an HTTP route not caching because larderd is down, slow or
// refusing the call), when a stored value cannot be decoded, when a response cannot be stored,
// when a near cache's Watch stream ends, and when an auth token file cannot be re-read. Each
// cause is written at most once a minute (a later line says how many were held back), so a
// persistent fault never floods the service's log; lines carry no values, keys or secrets.
// Default: standard error.
//
//   larder::SetLogSink([](absl::string_view line) { my_logger.Warn(line); });
//   // "larder: cached function get_user in namespace users is not caching: UNAVAILABLE: …"
//   larder::SetLogSink(nullptr);  // back to standard error
#pragma once

#include <functional>

#include "absl/strings/string_view.h"

namespace larder {

// Receives one complete line (no trailing newline), from any thread; it must be thread-safe
// and must not call into the SDK.
using LogSink = std::function<void(absl::string_view line)>;

// Replaces the process-wide sink; nullptr restores standard error. Thread-safe; lines being
// written while it changes go to either sink.
void SetLogSink(LogSink sink);

}  // namespace larder

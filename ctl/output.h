// How larderctl prints results: for people (printable values as they are, binary values as an
// escaped preview with their size, ETag and remaining TTL), as JSON for scripts (one object per
// line, keys, values and other byte strings in base64), or raw (the value's bytes alone).
// Pure functions of their inputs, so they are tested without a server.
//
//   std::cout << FormatGet(OutputMode::kHuman, "42", result);
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ctl/args.h"
#include "larder/client.h"

namespace larder::ctl {

// The most bytes of a binary value (or key) a human-readable preview shows.
inline constexpr size_t kPreviewBytes = 64;

// True for text printed as it is: valid UTF-8 without control characters other than tab,
// newline and carriage return.
bool IsPrintable(absl::string_view bytes);
// `bytes` as is when printable (keys: also without newlines), else "\x00\x01…" escaped and cut
// to kPreviewBytes with a note of the full size.
std::string Preview(absl::string_view bytes);
std::string KeyText(absl::string_view key);
// "4m59s", or "none" for an entry that never expires.
std::string TtlText(std::optional<absl::Duration> ttl);

// Each returns whole lines, ending with '\n' (raw: just the bytes).
std::string FormatGet(OutputMode mode, absl::string_view key, const GetResult& result);
std::string FormatSet(OutputMode mode, absl::string_view key, const SetResult& result);
std::string FormatDelete(OutputMode mode, absl::string_view key, bool deleted);
std::string FormatTouch(OutputMode mode, absl::string_view key, const TouchResult& result);
std::string FormatInvalidate(OutputMode mode, int64_t deleted);
std::string FormatStats(OutputMode mode, absl::string_view ns, const CacheStats& stats);
// One namespace (JSON: one line); the human header comes from NamespacesHeader().
std::string FormatNamespace(OutputMode mode, const NamespaceInfo& info);
std::string NamespacesHeader();
// `status` as gRPC's health service names it: "SERVING", "NOT_SERVING", ...
std::string FormatHealth(OutputMode mode, absl::string_view service, absl::string_view status);
std::string FormatWatchEvent(OutputMode mode, const WatchEvent& event);

}  // namespace larder::ctl

// The bytes a cached function stores: a small versioned header carrying the time the result
// stops being fresh, then the coder's bytes. Keeping freshness with the value lets every
// process agree on it and lets stale-while-revalidate work with a longer server TTL.
//
//   std::string stored = WrapEnvelope(clock.Now() + ttl, encoded);
//   LARDER_ASSIGN_OR_RETURN(Envelope envelope, UnwrapEnvelope(stored));
//
// Format (10 bytes, then the payload):
//   byte 0     0xCA, marking a larder cached-function value
//   byte 1     0x01, the format version
//   bytes 2-9  fresh-until, microseconds since the Unix epoch, int64 little-endian;
//              0 means fresh for as long as the server keeps it
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::client::internal {

struct Envelope {
  // nullopt: no freshness limit.
  std::optional<absl::Time> fresh_until;
  // The coder's bytes (a view into the unwrapped string).
  absl::string_view payload;
};

std::string WrapEnvelope(std::optional<absl::Time> fresh_until, absl::string_view payload);

// kDataLoss for bytes that are not an envelope of a known version.
absl::StatusOr<Envelope> UnwrapEnvelope(absl::string_view stored);

}  // namespace larder::client::internal

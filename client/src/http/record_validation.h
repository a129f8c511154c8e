// ValidateRecord: whether a stored response may be replayed to a client. Records come back from
// a shared store that other processes (or an attacker with write access to larder) can fill, so
// they are data to check, not a response to trust: this is the one rule both the decoder and the
// pipeline apply, and the one the pipeline applies before storing a render.
//
//   absl::Status replayable = larder::http::internal::ValidateRecord(stored);
//   if (!replayable.ok()) { /* count, log replayable.message(), treat as a miss */ }
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "larder/http/response.h"

namespace larder::http::internal {

// OK when every header name is an RFC 9110 token, every header value and the ETag hold no
// control byte but HTAB (no CR, LF, NUL, DEL…), the status is 100-599, and no header is one this
// layer never stores: hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade; any field Connection names is refused with Connection itself),
// Set-Cookie / Set-Cookie2 (never replayed to another client) or Content-Length (the adapter
// frames the body). Otherwise kDataLoss whose message says what is wrong, naming the header
// when its name is a token (at most 64 bytes of it) and never quoting a value.
// Cost: O(bytes of the header names and values).
absl::Status ValidateRecord(const StoredResponse& stored);

}  // namespace larder::http::internal

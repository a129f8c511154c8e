// ClientOptions: everything a larder::Client is configured with, as plain structs.
//
//   larder::ClientOptions options;
//   options.target = "dns:///larder.internal:7400";   // every replica, round_robin
//   options.deadline = absl::Milliseconds(20);
//   auto client = larder::Client::Create(options);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "larder/common/clock.h"
#include "larder/common/limits.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace larder {

// How a call that failed with UNAVAILABLE is tried again. Only idempotent calls are retried:
// Get, MultiGet, Stats, Delete, Touch, Invalidate, and Set / MultiSet without if_absent or
// if_match. A conditional write is attempted at most once (its first attempt may have been
// applied before the failure reached the client), so its UNAVAILABLE reaches the caller. No
// other code is retried: a deadline already spent, bad input, RESOURCE_EXHAUSTED, DATA_LOSS
// and INTERNAL would fail the same way again.
struct RetryOptions {
  // Attempts per call, the first one included; 1 turns retries off.
  // Default: 3
  int max_attempts = 3;
  // The pause before the first retry; later pauses grow by backoff_multiplier up to max_backoff.
  // Default: 2 ms
  absl::Duration initial_backoff = absl::Milliseconds(2);
  // Default: 20 ms
  absl::Duration max_backoff = absl::Milliseconds(20);
  // Default: 2.0
  double backoff_multiplier = 2.0;
  // Each pause is scaled by a uniform random factor in [1 - jitter, 1 + jitter], in [0, 1].
  // Default: 0.2
  double jitter = 0.2;
  // The retry budget: retries may use at most this fraction of calls (a client-wide token
  // bucket), so an outage does not multiply the load on the servers.
  // Default: 0.1 (retries are at most 10% of calls)
  double budget_ratio = 0.1;
  // Retries allowed each second on top of the ratio, so a quiet client can still retry.
  // Default: 10
  int budget_min_retries_per_second = 10;
};

// TLS towards larderd. Without it the channel is plaintext.
struct TlsOptions {
  // PEM root certificates that sign the server's certificate; empty uses gRPC's defaults.
  // Default: empty
  std::string root_certs_pem;
  // PEM client certificate chain and private key for mutual TLS: both or neither.
  // Default: empty
  std::string client_cert_chain_pem;
  // Default: empty
  std::string client_private_key_pem;
};

// The near cache: entries of the listed namespaces kept in this process and served without a
// call to larderd, coherent through larderd's Watch stream (docs/client.md, "Near cache"). A
// read that begins after a write or invalidation was acknowledged to anyone never returns the
// older value once that change's event has reached this process (milliseconds on a healthy
// network); while the stream is not live (connecting, larderd down, its change feed lost) the
// near cache serves nothing. Gets, and Leases of a present entry, are answered from it; this
// client's own writes and invalidations take effect in it before their calls return.
struct NearCacheOptions {
  // The namespaces to keep near (at most 64, each a valid namespace); empty turns the near
  // cache off.
  // Default: none (off)
  std::vector<std::string> namespaces;
  // Bytes of entries held, over all namespaces (each entry is charged its namespace, key, value,
  // ETag and 256 bytes); at least 64 KiB. The least useful entries are evicted first (S3-FIFO).
  // Default: 64 MiB
  int64_t max_bytes = int64_t{64} << 20;
  // Entries held, over all namespaces; at least 1.
  // Default: 65536
  int64_t max_entries = 65536;
};

struct ClientOptions {
  // The larderd address: "host:port", or "dns:///host:port" to resolve every replica behind
  // the name and spread calls over them (round_robin load balancing).
  // Default: "127.0.0.1:50051" (larderd's default --listen)
  std::string target = "127.0.0.1:50051";
  // The time one call may take, retries included. Past it the call fails with
  // kDeadlineExceeded, and a cached function calls through to its function (fail-open).
  // Default: 50 ms
  absl::Duration deadline = absl::Milliseconds(50);
  // Default: see RetryOptions
  RetryOptions retry;
  // Default: nullopt (plaintext)
  std::optional<TlsOptions> tls;
  // The bearer token of a larderd started with --auth-tokens-file, sent as the gRPC metadata
  // `authorization: Bearer <token>` on every attempt of every call. 1 or more bytes of visible
  // ASCII (no space, CR, LF or control byte), else Client::Create fails. Never logged, never in
  // a status message. Over plaintext it crosses the network in clear: use `tls`.
  // Precedence: auth_token, then auth_token_file, then $LARDER_AUTH_TOKEN (when non-empty).
  // Default: empty (no token from this field)
  std::string auth_token;
  // A file holding the token (surrounding whitespace trimmed), e.g. a mounted Kubernetes
  // secret. Read by Client::Create (which fails when it is unreadable, empty or unusable), then
  // looked at again at most once per second (on `clock`) from the calling thread: a changed
  // modification time, size or inode makes the client re-read it. A re-read that fails keeps
  // the last good token and logs one line per minute at most, naming the path, not the token.
  // Default: empty (no token file)
  std::string auth_token_file;
  // How long one connection attempt may take before the channel reports failure, so calls
  // fail fast (and fail open) instead of waiting out their deadline on a silent server.
  // Default: 1 s
  absl::Duration connect_timeout = absl::Seconds(1);
  // The longest pause between reconnection attempts after larderd went away. gRPC's own
  // default (two minutes) would leave a cache unused long after a short outage.
  // Default: 1 s
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // The largest response the client accepts from larderd, in bytes: 1 to 2147483647. A larger
  // response fails with kResourceExhausted naming this field and its value, counted in
  // larder_client_rpcs_total and, for lookups, as an `error` (never a miss). The default reads
  // a value of the largest --max-value-bytes larderd accepts (1 GiB) plus the message's
  // overhead; gRPC's own default of 4 MiB would make every value above it unreadable while
  // larderd stores up to 8 MiB by default. A MultiGet response is bounded by larderd's
  // --max-response-bytes (64 MiB by default), so raising that past this limit needs this too.
  // Default: limits::kMaxMaxValueBytes + limits::kMessageOverheadBytes (1 GiB + 1 MiB)
  int64_t max_receive_message_bytes = limits::kMaxMaxValueBytes + limits::kMessageOverheadBytes;
  // Where the larder_client_* metrics are registered. Several clients may share a registry.
  // Default: null, meaning larder::DefaultMetricsRegistry()
  std::shared_ptr<prometheus::Registry> metrics_registry;
  // Distinct namespaces labelled in metrics; further namespaces are counted as "other".
  // Default: 32
  int max_metric_namespaces = 32;
  // Default: off (see NearCacheOptions)
  NearCacheOptions near_cache;
  // The time source for freshness, the retry budget and durations. Must outlive the client.
  // gRPC deadlines and retry pauses always use real time.
  // Default: null, meaning larder::Clock::Real()
  const Clock* clock = nullptr;
};

}  // namespace larder

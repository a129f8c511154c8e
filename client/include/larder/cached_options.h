// CachedOptions: how larder::Cached stores a function's results (namespace, name, TTL,
// stale-while-revalidate window, tags, on/off, fleet-wide single flight through leases).
//
//   larder::CachedOptions options;
//   options.namespace_name = "users";
//   options.function_name = "get_user";
//   options.ttl = absl::Minutes(5);
//   options.stale_while_revalidate = absl::Minutes(1);
//   options.lease_ttl = absl::Seconds(2);   // LoadUser takes well under 2 s
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "larder/wait_clock.h"

namespace larder {

struct CachedOptions {
  // The larder namespace results are stored in: 1-limits::kMaxNamespaceBytes (128) characters
  // of [A-Za-z0-9_.-].
  // Default: "default"
  std::string namespace_name = "default";
  // The first part of every default key ("get_user:v2:e4d1…"): 1 to 4060 bytes (the key is at
  // most limits::kMaxKeyBytes). Give each function sharing a namespace its own name; writers
  // pass the same name to larder::MakeKey to invalidate. Required, even with WithKeyBuilder.
  // Default: empty (invalid)
  std::string function_name;
  // How long a stored result is fresh: positive, and ttl + stale_while_revalidate at most
  // 10,000 years (google.protobuf.Duration). nullopt keeps it for the server's --default-ttl and
  // never serves it stale. larderd refuses a ttl above its --max-ttl: calls then count as
  // `error` with that code (see ValidateCachedOptions).
  // Default: nullopt
  std::optional<absl::Duration> ttl;
  // How long after `ttl` a result may still be served while one caller in the process
  // refreshes it. The server keeps entries for ttl + this window; the time a result stops
  // being fresh is stored with it and judged on this process's clock. Needs `ttl`.
  // Default: zero (no stale serving)
  absl::Duration stale_while_revalidate = absl::ZeroDuration();
  // Tags stored with every result, for Client::Invalidate(InvalidateTarget::Tag(…)): each
  // 1-limits::kMaxTagBytes bytes, at most limits::kMaxTagsPerEntry.
  // Default: none
  std::vector<std::string> tags;
  // When false, calls go straight to the function: no lookups, no stores, no metrics.
  // Default: true
  bool enabled = true;
  // Fleet-wide single flight: on a miss, the call that leads this process's single flight asks
  // larderd for the key's lease (Client::Lease) instead of a plain Get. Only the lease's holder,
  // in any process, runs the function; others wait for its stored value (or serve the stale
  // one larderd kept), and a value computed before a write, Delete or Invalidate of the key is
  // refused instead of stored. Against a larderd without leases (UNIMPLEMENTED, remembered by
  // the client) calls use Get as if this were false. See docs/client.md.
  // Default: true
  bool fleet_single_flight = true;
  // How long a granted lease lasts: positive, at most limits::kMaxLeaseTtlMillis (60 s). Make
  // it longer than the function usually runs: once it passes, another caller gets the lease and
  // runs the function too, and the late holder's store is refused (a function always slower
  // than this is never cached). A holder that died costs the others at most this long.
  // Default: 5 s
  absl::Duration lease_ttl = absl::Seconds(5);
  // The longest a call waits for another caller's lease (polling larderd with a jittered
  // backoff of 5 ms doubling to 100 ms, or, while the client's near cache watches the
  // namespace, woken by the Watch event of the holder's store with 100-500 ms fallback polls)
  // before it runs the function itself and stores without a lease (fail-open). Not negative;
  // zero never waits. Each poll is one Lease RPC bounded by ClientOptions::deadline, so a waiter
  // gives up at most lease_wait plus one deadline after it first met the lease.
  // Default: 10 s
  absl::Duration lease_wait = absl::Seconds(10);
  // The time lease waits are measured and slept on. Must outlive the cached function.
  // Default: null, meaning larder::WaitClock::Real() (tests inject one that never sleeps)
  const WaitClock* wait_clock = nullptr;
};

// OK, or kInvalidArgument naming the first field outside the bounds above (namespace format and
// length, an empty or too long function_name, a ttl that is not positive or too long, a
// negative stale window or one without ttl, tags, a lease_ttl that is not positive or above
// 60 s, a negative lease_wait; the lease fields are checked even when fleet_single_flight is
// off). larder::Cached checks this when it is
// created: a cached function with invalid options calls straight through to its function,
// counts every call as `error` (code INVALID_ARGUMENT) and logs the reason once a minute at
// most. Call it at start-up to fail fast instead.
absl::Status ValidateCachedOptions(const CachedOptions& options);

}  // namespace larder

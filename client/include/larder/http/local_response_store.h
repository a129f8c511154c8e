// NewLocalResponseStore: an optional in-process layer in front of another ResponseStore (the
// larder one), so a hot response is served without a network round trip for up to `max_age`.
// A hit here costs a map lookup instead of a gRPC call (docs/performance.md, HTTP section).
//
//   auto store = larder::http::NewLocalResponseStore(
//       larder::http::NewLarderResponseStore(client), {.max_age = absl::Seconds(1)}, clock);
//   auto cache = larder::http::HttpCache::Create(store);
//
// Trade-off: a write or invalidation made through another process is seen here only after up
// to max_age. This process's own Store and Invalidate calls take effect at once, and for good:
// a lookup that read the backend before one of them completed never installs what it read (a
// per-shard generation taken before the read is checked before installing; Store and every
// invalidation advance it). Entries never outlive the response's own freshness, so stale
// serving and revalidation still go to larder.
// Thread-safe; sharded locks.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "larder/common/clock.h"
#include "larder/http/response_store.h"

namespace larder::http {

struct LocalCacheOptions {
  // How long a response read from the backend may be served from this process. Zero turns the
  // layer off (NewLocalResponseStore then returns the backend itself). Default: zero.
  absl::Duration max_age = absl::ZeroDuration();
  // Bytes of responses (bodies, headers, keys) kept; the oldest go first. Default: 64 MiB.
  int64_t max_bytes = int64_t{64} << 20;
};

// `clock` must outlive the store.
std::shared_ptr<ResponseStore> NewLocalResponseStore(std::shared_ptr<ResponseStore> backend,
                                                     LocalCacheOptions options, const Clock& clock);

}  // namespace larder::http

// RedisCallerLinks: one connection to one Redis server per serving thread (DeferredWork's index),
// on which that thread sends a batch of commands and reads their replies itself: no I/O thread,
// no hand-off between threads, one write and usually one read per batch. RedisEngine sends the
// Gets of a burst of calls this way (redis_async_get.cc); GET is idempotent, so a batch this
// cannot answer is simply sent again on the pool's RedisPipe. Internal to server/storage/redis.
//
//   absl::StatusOr<std::vector<RedisReply>> replies =
//       links.Run(DeferredWork::ThisThreadIndex(), {{"GET", "a"}, {"GET", "b"}});
//
// Bounds: the serving thread waits at most `read_timeout` for each read or write (and for the
// connect and handshake of a new link), so a slow or frozen server holds it up that long once,
// then not again while the link backs off. A link whose read or write fails or times out, or
// whose server says it is no writable master any more, is closed and not tried again for a
// jittered backoff doubling from initial_backoff to max_backoff (Run answers kUnavailable at once
// meanwhile). Failures are logged at most once per 30 s per pool, with how many were left out.
// Link `index` may be used by one thread only, which makes Run lock-free.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/common/log_rate_limiter.h"
#include "server/storage/deferred_work.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage::internal {

struct RedisCallerLinkOptions {
  // The longest a serving thread waits for one read, one write, a connect or a handshake.
  absl::Duration read_timeout = absl::Milliseconds(10);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

class RedisCallerLinks {
 public:
  RedisCallerLinks(RedisEndpoint endpoint, RedisCallerLinkOptions options);
  RedisCallerLinks(const RedisCallerLinks&) = delete;
  RedisCallerLinks& operator=(const RedisCallerLinks&) = delete;

  // The replies to `commands`, in order (error replies included as replies), on the link of
  // serving thread `index`, connecting it first when needed. kUnavailable when the link is
  // backing off or failed now (then closed): send the commands elsewhere. Call from serving
  // thread `index` only.
  absl::StatusOr<std::vector<RedisReply>> Run(
      int index, const std::vector<std::vector<absl::string_view>>& commands);
  // Links open now (for tests).
  int open_links() const;

 private:
  struct Link {
    std::unique_ptr<RedisConnection> connection;
    absl::Time retry_after = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };

  // Opens `link`'s connection when it has none; not OK while backing off or when it fails.
  absl::Status Connect(Link& link);
  // Closes `link` after `failure` and starts (or doubles) its backoff.
  void Fail(Link& link, const absl::Status& failure);

  const RedisEndpoint endpoint_;
  const RedisCallerLinkOptions options_;
  std::array<Link, DeferredWork::kMaxThreads> links_;
  LogRateLimiter log_limiter_{Clock::Real(), absl::Seconds(30)};
};

}  // namespace larder::storage::internal

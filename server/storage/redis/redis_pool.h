// RedisPool: a bounded set of RedisConnections shared by the engine's callers, each lent to one
// caller at a time. Connections are made on demand. One that times out is dropped alone; one that
// fails otherwise, or whose server answers that it is no writable master any more, is dropped
// together with the idle ones (a Redis restart or failover makes them all stale). Reconnection
// is retried with jittered exponential backoff, failing fast with kUnavailable in between.
// Internal to server/storage/redis.
//
//   RedisPool pool(endpoint, {.size = 8});
//   absl::StatusOr<RedisPool::Lease> connection = pool.Acquire();
//   if (connection.ok()) (*connection)->Run({"PING"});   // returned to the pool at scope end
//
// Backoff is timed by the wall clock, not the engine's injected Clock (which only judges expiry).
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/redis/redis_caller_links.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pipe.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage::internal {

struct RedisPoolOptions {
  // Connections open at most at once. Default: 8.
  int size = 8;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  // First and longest wait between reconnection attempts. Default: 50 ms, 2 s.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // The longest a serving thread waits on its own link (caller_links()) for one read or write;
  // never longer than command_timeout. Default: 10 ms.
  absl::Duration caller_read_timeout = absl::Milliseconds(10);
};

// Thread-safe.
class RedisPool {
 public:
  // A connection lent to one caller; goes back to the pool (or is dropped if broken) when
  // destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) = delete;
    ~Lease();
    RedisConnection& operator*() const { return *connection_; }
    RedisConnection* operator->() const { return connection_.get(); }

   private:
    friend class RedisPool;
    Lease(RedisPool* pool, std::unique_ptr<RedisConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    RedisPool* pool_;
    std::unique_ptr<RedisConnection> connection_;
  };

  RedisPool(RedisEndpoint endpoint, RedisPoolOptions options)
      : endpoint_(std::move(endpoint)),
        options_(options),
        caller_links_(endpoint_, {std::min(options.caller_read_timeout, options.command_timeout),
                                  options.initial_backoff, options.max_backoff}) {}

  // An idle connection, or a new one when fewer than `size` are open. kUnavailable when Redis
  // cannot be reached (at once while backing off), or when every connection stays busy for
  // connect_timeout + command_timeout; kPermissionDenied / kInvalidArgument when Redis refuses
  // the credentials / database.
  absl::StatusOr<Lease> Acquire() ABSL_LOCKS_EXCLUDED(mutex_);

  const RedisEndpoint& endpoint() const { return endpoint_; }
  // One RedisPipe to the same server, for calls that do not wait for their reply (made on first
  // use, with its own connection and I/O thread).
  RedisPipe& pipe();
  // A link per serving thread to the same server, for batches that thread sends and reads itself.
  RedisCallerLinks& caller_links() { return caller_links_; }
  // Connections open now (idle, lent or being opened).
  int open_connections() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  void Release(std::unique_ptr<RedisConnection> connection) ABSL_LOCKS_EXCLUDED(mutex_);
  bool CanLend() const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // Whether a new connection may be attempted now; sets connecting_ when so.
  absl::Status ReserveConnectAttempt() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RecordConnectResult(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const RedisEndpoint endpoint_;
  const RedisPoolOptions options_;
  RedisCallerLinks caller_links_;

  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;          // Idle + lent + being opened.
  bool probing_ ABSL_GUARDED_BY(mutex_) = false;  // A reconnection attempt is under way.
  absl::Duration backoff_ ABSL_GUARDED_BY(mutex_) = absl::ZeroDuration();  // Zero: healthy.
  absl::Time retry_after_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
  absl::BitGen random_ ABSL_GUARDED_BY(mutex_);  // For the backoff's jitter.
  // Made by the first pipe() call; read without the mutex once made (acquire/release, which
  // ThreadSanitizer sees, unlike absl::call_once's wait inside the uninstrumented Abseil).
  absl::Mutex pipe_mutex_;
  std::unique_ptr<RedisPipe> pipe_ ABSL_GUARDED_BY(pipe_mutex_);
  std::atomic<RedisPipe*> pipe_made_{nullptr};
};

}  // namespace larder::storage::internal

// RedisRouter: which Redis server a command goes to. Given seed nodes, it finds out whether they
// form a Redis Cluster (CLUSTER SLOTS) or are one standalone server, keeps a pool of connections
// (RedisPool) per server, and runs each command on the master serving its key's hash slot:
// following MOVED (the slot moved for good: the map is updated and refreshed) and ASK (one
// command, after ASKING) during resharding, waiting out TRYAGAIN, and rediscovering the topology
// when a master stops answering or says it is a replica now (failover). Internal to
// server/storage/redis.
//
//   auto router = RedisRouter::Create(seeds, {.mode = RedisMode::kAuto});
//   absl::StatusOr<RedisReply> reply = (*router)->Run(KeySlot(key), [&](RedisConnection& c) {
//     return c.Run({"HMGET", key, "v"});
//   });
//
// Routing is lock-free: a slot's master is one atomic load. Rediscovery runs on the calling
// thread, one at a time and at most once per min_refresh_interval; costs O(16384 + reply size).
// Servers are never forgotten while the router lives (each costs a few hundred bytes once its
// connections are gone); at most kMaxRedisNodes of them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage::internal {

// --redis-mode: kAuto asks the first seed that answers.
enum class RedisMode { kAuto, kStandalone, kCluster };

// "auto", "standalone" or "cluster"; kInvalidArgument otherwise.
absl::StatusOr<RedisMode> ParseRedisMode(absl::string_view text);

inline constexpr int kMaxRedisNodes = 4096;

struct RedisRouterOptions {
  RedisMode mode = RedisMode::kAuto;
  RedisPoolOptions pool;  // For each server.
  // Redirections one call follows at most.
  int max_redirects = 5;
  // Rediscovery runs at most this often.
  absl::Duration min_refresh_interval = absl::Milliseconds(100);
};

// Thread-safe.
class RedisRouter {
 public:
  using Op = absl::FunctionRef<absl::StatusOr<RedisReply>(RedisConnection&)>;

  // kInvalidArgument for no seed, several seeds in standalone mode, or a database other than 0
  // with cluster mode. The servers need not be up: the router discovers them when they are.
  // When one answers, what it refuses fails here: credentials (kPermissionDenied), database
  // (kInvalidArgument), a mode it does not have (kFailedPrecondition).
  static absl::StatusOr<std::unique_ptr<RedisRouter>> Create(std::vector<RedisEndpoint> seeds,
                                                             RedisRouterOptions options);

  // Runs `op` on a connection to the master of `slot`. `op` must be safe to run again (its
  // command is resent after MOVED / ASK / TRYAGAIN and after a READONLY refusal). Follows at
  // most max_redirects redirections and waits out TRYAGAIN for at most one command timeout.
  // kUnavailable when no master of the slot can be reached now, or its keys are still moving
  // after that wait.
  absl::StatusOr<RedisReply> Run(uint16_t slot, Op op);

  // The pool of the master of `slot` as known now (rediscovering first when none is), or
  // nullptr; for callers that group many commands per server and send each group at once, then
  // Run what was redirected.
  RedisPool* PoolOf(uint16_t slot);
  // The pool of the master of `slot` as known now, or nullptr; never blocks.
  RedisPool* KnownPoolOf(uint16_t slot) const {
    return owner_[slot].load(std::memory_order_acquire);
  }
  // The distinct masters known now.
  std::vector<RedisPool*> Masters() const;
  // True once the seeds turned out to be a cluster.
  bool cluster() const { return mode_.load(std::memory_order_acquire) == RedisMode::kCluster; }
  // Rediscovers now unless another thread is doing so or did so within min_refresh_interval
  // (then OK at once); the outcome otherwise.
  absl::Status MaybeRefresh();
  // "host:port/db" of the first seed, safe to log.
  std::string Describe() const;

  // For callers on threads that must not block (RedisPipe callbacks): runs `task` on the
  // router's own thread, in order. False, dropping `task`, when kMaxQueuedTasks already wait.
  bool Post(absl::AnyInvocable<void() &&> task) ABSL_LOCKS_EXCLUDED(mutex_);
  // MaybeRefresh on the router's thread, soon.
  void RefreshSoon();
  // After a MOVED: `slot` is served by `to` from now on (nullptr when too many servers).
  RedisPool* NoteMoved(uint16_t slot, const NodeAddress& to);
  // The pool of `address`, made when new (nullptr when there are kMaxRedisNodes already).
  RedisPool* PoolFor(const NodeAddress& address) ABSL_LOCKS_EXCLUDED(mutex_);

  static constexpr int kMaxQueuedTasks = 1024;

  ~RedisRouter();

 private:
  RedisRouter(std::vector<RedisEndpoint> seeds, RedisRouterOptions options);
  absl::Status Refresh();
  absl::Status RefreshFrom(RedisPool& pool);
  absl::Status BecomeStandalone(RedisPool& pool);
  void Install(const SlotMap& map);
  void RunTasks() ABSL_LOCKS_EXCLUDED(mutex_);
  RedisPool* PoolForLocked(const NodeAddress& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // What a failed `op` on `pool` asks for next: a redirection, a wait, or nothing (give up).
  struct Retry {
    RedisPool* pool = nullptr;  // Where to go next (nullptr: give up).
    bool asking = false;        // Send ASKING first.
    bool wait = false;          // Wait a little first (TRYAGAIN).
  };
  Retry RetryAfter(uint16_t slot, RedisPool& pool, const RedisConnection& connection, bool asking);

  const std::vector<RedisEndpoint> seeds_;
  const RedisRouterOptions options_;
  std::atomic<RedisMode> mode_;  // kAuto until a seed answered.
  std::array<std::atomic<RedisPool*>, kClusterSlots> owner_;

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<RedisPool>> pools_ ABSL_GUARDED_BY(mutex_);
  bool refreshing_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mutex_);
  bool refresh_posted_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;  // Runs tasks_; started last, joined first.
};

}  // namespace larder::storage::internal

#include "server/storage/redis/redis_router.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "larder/common/status_macros.h"
#include "server/storage/redis/redis_replies.h"

namespace larder::storage::internal {
namespace {

// What a server that is no cluster node answers to CLUSTER SLOTS.
bool SaysClusterDisabled(absl::string_view error) {
  return absl::StrContains(error, "cluster support disabled");
}

// Replies after which the same command may simply be sent again a little later: a slot whose
// keys are being moved (multi-key commands and scripts see TRYAGAIN, or a key that just left).
bool SaysTryAgain(absl::string_view error) {
  return absl::StartsWith(error, "TRYAGAIN") || absl::StrContains(error, "non local key");
}

NodeAddress AddressOf(const RedisEndpoint& endpoint) { return {endpoint.host, endpoint.port}; }

}  // namespace

absl::StatusOr<RedisMode> ParseRedisMode(absl::string_view text) {
  if (text == "auto") return RedisMode::kAuto;
  if (text == "standalone") return RedisMode::kStandalone;
  if (text == "cluster") return RedisMode::kCluster;
  return absl::InvalidArgumentError(
      absl::StrCat("redis-mode: \"", text, "\" is not one of auto, standalone, cluster"));
}

RedisRouter::RedisRouter(std::vector<RedisEndpoint> seeds, RedisRouterOptions options)
    : seeds_(std::move(seeds)), options_(options), mode_(RedisMode::kAuto) {
  for (std::atomic<RedisPool*>& owner : owner_) owner.store(nullptr, std::memory_order_relaxed);
  thread_ = std::thread([this] { RunTasks(); });
}

RedisRouter::~RedisRouter() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
  // The pools own the pipes, whose callbacks may Post until the pipes are gone: destroyed
  // outside the lock.
  absl::flat_hash_map<std::string, std::unique_ptr<RedisPool>> pools;
  {
    absl::MutexLock lock(&mutex_);
    pools.swap(pools_);
  }
  pools.clear();
}

bool RedisRouter::Post(absl::AnyInvocable<void() &&> task) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || tasks_.size() >= kMaxQueuedTasks) return false;
  tasks_.push_back(std::move(task));
  return true;
}

void RedisRouter::RefreshSoon() {
  {
    absl::MutexLock lock(&mutex_);
    if (refresh_posted_) return;
    refresh_posted_ = true;
  }
  Post([this] {
    {
      absl::MutexLock lock(&mutex_);
      refresh_posted_ = false;
    }
    (void)MaybeRefresh();
  });
}

void RedisRouter::RunTasks() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]()
                       ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_ || !tasks_.empty(); };
      mutex_.Await(absl::Condition(&ready));
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::move(task)();
  }
}

RedisPool* RedisRouter::NoteMoved(uint16_t slot, const NodeAddress& to) {
  RedisPool* pool = PoolFor(to);
  if (pool != nullptr) owner_[slot].store(pool, std::memory_order_release);
  return pool;
}

absl::StatusOr<std::unique_ptr<RedisRouter>> RedisRouter::Create(std::vector<RedisEndpoint> seeds,
                                                                 RedisRouterOptions options) {
  if (seeds.empty()) return absl::InvalidArgumentError("redis-url: no server given");
  if (options.mode == RedisMode::kStandalone && seeds.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("redis-url names ", seeds.size(),
                                                   " servers; --redis-mode=standalone takes one"));
  }
  if (seeds.front().db != 0 && (options.mode == RedisMode::kCluster || seeds.size() > 1)) {
    return absl::InvalidArgumentError(
        "redis-url: a Redis Cluster has database 0 only; drop the /db from the URL");
  }
  auto router = std::unique_ptr<RedisRouter>(new RedisRouter(std::move(seeds), options));
  absl::Status reached;
  if (options.mode == RedisMode::kStandalone) {
    router->mode_.store(RedisMode::kStandalone);
    RedisPool* pool = router->PoolFor(AddressOf(router->seeds_.front()));
    for (std::atomic<RedisPool*>& owner : router->owner_) owner.store(pool);
    reached = pool->Acquire().status();
  } else {
    reached = router->MaybeRefresh();
  }
  if (!reached.ok() && reached.code() != absl::StatusCode::kUnavailable) return reached;
  return router;
}

std::string RedisRouter::Describe() const { return seeds_.front().Describe(); }

RedisPool* RedisRouter::PoolFor(const NodeAddress& address) {
  absl::MutexLock lock(&mutex_);
  return PoolForLocked(address);
}

RedisPool* RedisRouter::PoolForLocked(const NodeAddress& address) {
  std::unique_ptr<RedisPool>& pool = pools_[address.Describe()];
  if (pool == nullptr) {
    if (pools_.size() > static_cast<size_t>(kMaxRedisNodes)) {
      pools_.erase(address.Describe());
      return nullptr;
    }
    RedisEndpoint endpoint = seeds_.front();  // Same credentials and database everywhere.
    endpoint.host = address.host;
    endpoint.port = address.port;
    pool = std::make_unique<RedisPool>(std::move(endpoint), options_.pool);
  }
  return pool.get();
}

RedisPool* RedisRouter::PoolOf(uint16_t slot) {
  RedisPool* pool = owner_[slot].load(std::memory_order_acquire);
  if (pool != nullptr) return pool;
  (void)MaybeRefresh();
  return owner_[slot].load(std::memory_order_acquire);
}

std::vector<RedisPool*> RedisRouter::Masters() const {
  absl::flat_hash_set<RedisPool*> seen;
  std::vector<RedisPool*> masters;
  for (const std::atomic<RedisPool*>& owner : owner_) {
    RedisPool* pool = owner.load(std::memory_order_acquire);
    if (pool != nullptr && seen.insert(pool).second) masters.push_back(pool);
  }
  return masters;
}

absl::Status RedisRouter::MaybeRefresh() {
  if (mode_.load(std::memory_order_acquire) == RedisMode::kStandalone) return absl::OkStatus();
  {
    absl::MutexLock lock(&mutex_);
    if (refreshing_ || absl::Now() < last_refresh_ + options_.min_refresh_interval) {
      return absl::OkStatus();
    }
    refreshing_ = true;
  }
  absl::Status refreshed = Refresh();
  absl::MutexLock lock(&mutex_);
  refreshing_ = false;
  last_refresh_ = absl::Now();
  return refreshed;
}

absl::Status RedisRouter::Refresh() {
  // The masters known now first (the seeds may be long gone), then the seeds.
  std::vector<RedisPool*> candidates = Masters();
  for (const RedisEndpoint& seed : seeds_) {
    RedisPool* pool = PoolFor(AddressOf(seed));
    if (pool != nullptr &&
        std::find(candidates.begin(), candidates.end(), pool) == candidates.end()) {
      candidates.push_back(pool);
    }
  }
  absl::Status last = absl::UnavailableError("redis: no server to ask for the cluster's slots");
  for (RedisPool* pool : candidates) {
    last = RefreshFrom(*pool);
    if (last.ok()) return last;
  }
  return last;
}

absl::Status RedisRouter::RefreshFrom(RedisPool& pool) {
  LARDER_ASSIGN_OR_RETURN(RedisPool::Lease connection, pool.Acquire());
  absl::StatusOr<RedisReply> reply = connection->Run({"CLUSTER", "SLOTS"});
  if (!reply.ok()) {
    if (SaysClusterDisabled(connection->last_error())) return BecomeStandalone(pool);
    return reply.status();
  }
  LARDER_ASSIGN_OR_RETURN(std::vector<SlotRange> ranges,
                          DecodeClusterSlotsReply(**reply, pool.endpoint().host));
  LARDER_ASSIGN_OR_RETURN(SlotMap map, SlotMap::FromRanges(ranges));
  if (options_.mode == RedisMode::kStandalone) return absl::OkStatus();
  Install(map);
  mode_.store(RedisMode::kCluster, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status RedisRouter::BecomeStandalone(RedisPool& pool) {
  if (options_.mode == RedisMode::kCluster || seeds_.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("redis at ", pool.endpoint().Describe(), " is not a Redis Cluster node, but ",
                     seeds_.size() > 1 ? "several servers were given" : "--redis-mode=cluster"));
  }
  for (std::atomic<RedisPool*>& owner : owner_) owner.store(&pool, std::memory_order_release);
  mode_.store(RedisMode::kStandalone, std::memory_order_release);
  return absl::OkStatus();
}

void RedisRouter::Install(const SlotMap& map) {
  std::vector<RedisPool*> pools;
  {
    absl::MutexLock lock(&mutex_);
    for (const NodeAddress& master : map.masters()) pools.push_back(PoolForLocked(master));
  }
  for (int slot = 0; slot < kClusterSlots; ++slot) {
    const int master = map.MasterOf(static_cast<uint16_t>(slot));
    owner_[slot].store(master < 0 ? nullptr : pools[master], std::memory_order_release);
  }
}

RedisRouter::Retry RedisRouter::RetryAfter(uint16_t slot, RedisPool& pool,
                                           const RedisConnection& connection, bool asking) {
  const absl::string_view error = connection.last_error();
  if (connection.broken()) {
    // A server that went away, or says it is a replica now: the cluster may have failed over.
    if (!cluster()) return {};
    (void)MaybeRefresh();  // Calls report what they run into; the next one tries again.
    if (!absl::StartsWith(error, "READONLY")) return {};  // Not sent again: it may have run.
    return {owner_[slot].load(std::memory_order_acquire)};
  }
  if (const std::optional<Redirect> redirect = ParseRedirect(error, pool.endpoint().host)) {
    if (redirect->kind == Redirect::Kind::kAsk) return {PoolFor(redirect->to), true};
    NoteMoved(redirect->slot, redirect->to);
    (void)MaybeRefresh();
    return {owner_[slot].load(std::memory_order_acquire)};
  }
  // Again on the same node, after ASKING again when it was the importing side of an ASK.
  if (SaysTryAgain(error)) return {&pool, asking, true};
  return {};
}

absl::StatusOr<RedisReply> RedisRouter::Run(uint16_t slot, Op op) {
  RedisPool* pool = PoolOf(slot);
  bool asking = false;
  int redirects = 0;
  absl::Duration waited = absl::ZeroDuration(), wait = absl::Milliseconds(2);
  for (;;) {
    if (pool == nullptr) {
      return absl::UnavailableError(absl::StrCat("redis: no reachable master serves slot ", slot,
                                                 " now (seeds ", Describe(), ")"));
    }
    absl::StatusOr<RedisPool::Lease> connection = pool->Acquire();
    if (!connection.ok()) {
      if (cluster()) (void)MaybeRefresh();
      return connection.status();
    }
    if (asking) LARDER_RETURN_IF_ERROR((*connection)->Run({"ASKING"}).status());
    absl::StatusOr<RedisReply> reply = op(**connection);
    if (reply.ok()) return reply;
    const Retry retry = RetryAfter(slot, *pool, **connection, asking);
    if (retry.pool == nullptr) return reply.status();
    if (retry.wait) {
      // The slot's keys are moving: try again shortly, for at most one command timeout; past it
      // the call is refused as a transient one (the client may retry), not as an error of its own.
      if (waited >= options_.pool.command_timeout) {
        return absl::UnavailableError(
            absl::StrCat("redis: the keys of slot ", slot, " are still moving after ",
                         absl::FormatDuration(waited), ": ", reply.status().message()));
      }
      absl::SleepFor(wait);
      waited += wait;
      wait = std::min(wait * 2, absl::Milliseconds(50));
    } else if (++redirects > options_.max_redirects) {
      return absl::UnavailableError(absl::StrCat("redis: slot ", slot, " still redirected after ",
                                                 options_.max_redirects,
                                                 " redirections: ", reply.status().message()));
    }
    pool = retry.pool;
    asking = retry.asking;
  }
}

}  // namespace larder::storage::internal

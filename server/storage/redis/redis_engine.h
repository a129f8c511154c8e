// RedisEngine: entries kept in a Redis server shared by every larderd replica, the way to scale
// larder out. One Redis hash per entry holds value, ETag, absolute expiry and tags; it also
// carries a native PX expiry so Redis reclaims it on its own, while reads judge expiry by the
// injected Clock. Every read-modify-write is one Lua script (see redis_scripts.h).
//
//   RedisEngineOptions options{.url = "redis://:secret@10.0.0.5:6379/0"};
//   absl::StatusOr<std::unique_ptr<RedisEngine>> engine = RedisEngine::Create(options, clock);
//
// While Redis is unreachable every call fails with kUnavailable (CheckHealth says so); the pool
// reconnects with backoff and service resumes without restarting larderd. Standalone Redis
// only: scripts compute the keys they touch, which Redis Cluster does not allow.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/storage_engine.h"

struct redisReply;

namespace larder::storage {

namespace internal {
class RedisConnection;
class RedisPool;
}  // namespace internal

// Thread-safe: each call borrows its own connection from the pool.
class RedisEngine final : public StorageEngine {
 public:
  // kInvalidArgument for a malformed URL or option. Redis need not be up: when it cannot be
  // reached, the engine starts and reports kUnavailable until it can. Credentials or a
  // database Redis refuses fail here (kPermissionDenied / kInvalidArgument).
  static absl::StatusOr<std::unique_ptr<RedisEngine>> Create(const RedisEngineOptions& options,
                                                             const Clock& clock);
  ~RedisEngine() override;

  absl::string_view name() const override { return "redis"; }
  bool blocking() const override { return true; }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  // One round trip for the whole batch (pipelined).
  absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGet(
      absl::string_view ns, const std::vector<absl::string_view>& keys) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // SCANs the namespace's keys (SSCANs the tag's set) and removes them in batches, each batch
  // one script; O(keys under the prefix) for namespace, prefix and pattern.
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // SCANs the namespace (all of larder's keys when `ns` is empty). Expirations count the
  // expired entries larder removed, over every replica sharing the Redis; entries Redis expired
  // by itself are not counted.
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  // OK when Redis answers and is a master (ROLE): a replica refuses writes, so a demoted server
  // is kUnavailable, and its reads would serve whatever the new master has not replicated.
  absl::Status CheckHealth() override;

 private:
  RedisEngine(const RedisEngineOptions& options, const Clock& clock,
              std::unique_ptr<internal::RedisPool> pool);

  std::string EntryKey(absl::string_view ns, absl::string_view key) const;
  // "P e:<ns>:" (or "P e:" for every namespace).
  std::string EntryPrefix(absl::string_view ns) const;
  // The Redis keys of one SCAN page (or SSCAN of a set when `set_key` is not empty).
  absl::StatusOr<std::vector<std::string>> ScanPage(internal::RedisConnection& connection,
                                                    absl::string_view set_key,
                                                    absl::string_view match, std::string& cursor);
  absl::StatusOr<int64_t> RemoveBatch(internal::RedisConnection& connection, absl::string_view ns,
                                      const std::vector<std::string>& keys,
                                      const std::string* required_tag);
  absl::StatusOr<int64_t> RemoveTagged(internal::RedisConnection& connection, absl::string_view ns,
                                       absl::string_view tag);
  absl::StatusOr<int64_t> Expirations(internal::RedisConnection& connection, absl::string_view ns);
  absl::StatusOr<std::optional<StoredEntry>> EntryOfReply(internal::RedisConnection& connection,
                                                          absl::string_view ns,
                                                          absl::string_view key,
                                                          const redisReply& reply, absl::Time now);

  const RedisEngineOptions options_;
  const Clock& clock_;
  std::unique_ptr<internal::RedisPool> pool_;
};

// Registers "redis" in `registry`.
void RegisterRedisEngine(EngineRegistry& registry);

}  // namespace larder::storage

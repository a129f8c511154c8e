// RedisEngine: entries kept in Redis, standalone or a Redis Cluster, shared by every larderd
// replica: the way to scale larder out. One Redis string per entry holds absolute expiry, ETag,
// tags and value; it also carries a native PX expiry so Redis reclaims it on its own, while
// reads judge expiry by the injected Clock. Every read-modify-write is one Lua script on keys of
// one hash slot (see redis_scripts.h for the layout), so it is atomic on a cluster too.
//
//   RedisEngineOptions options{.url = "redis://:secret@10.0.0.5:6379,10.0.0.6:6379"};
//   absl::StatusOr<std::unique_ptr<RedisEngine>> engine = RedisEngine::Create(options, clock);
//
// While Redis is unreachable every call fails with kUnavailable (CheckHealth says so); the pools
// reconnect with backoff and service resumes without restarting larderd. Costs: Get, Set,
// Delete, Touch, Lease one round trip (plus one to reclaim an entry found expired; a bucket's
// first Lease two more); MultiGet one per server (an MGET per hash slot); Stats of a namespace
// O(kBuckets) small reads, one pipeline per server; Invalidate O(kBuckets + entries of the
// namespace or tag), never a scan of Redis's keyspace.
//
// Leases live in Redis too (a record per key beside its entry, see redis_scripts.h), so every
// replica sharing the Redis shares them: one replica's Lease makes another's wait.
//
// Changes: every write's script also PUBLISHes a change message (redis_change_message.h) on the
// channel "<key prefix>changes", atomically with the write; Invalidate publishes one when it
// begins and one when it has removed everything. WatchChanges follows that channel
// (internal::RedisChangeFeed), so a listener hears the writes of every replica sharing the Redis.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "larder/common/clock.h"
#include "server/storage/deferred_work.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/redis/redis_burst_reads.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pipe.h"
#include "server/storage/storage_engine.h"

struct redisReply;

namespace larder::storage {

namespace internal {
class RedisChangeFeed;
class RedisConnection;
class RedisPool;
class RedisRouter;
}  // namespace internal

// Thread-safe: each call borrows its own connection from the pool of the server it goes to.
class RedisEngine final : public StorageEngine {
 public:
  // Buckets per namespace. Fixed: every replica sharing a Redis must agree on it.
  static constexpr int kBuckets = 256;

  // kInvalidArgument for a malformed URL or option. Redis need not be up: when it cannot be
  // reached, the engine starts and reports kUnavailable until it can. Credentials or a
  // database Redis refuses fail here (kPermissionDenied / kInvalidArgument). Of `leases`, only
  // grace is read: records are bounded by their TTLs, not by max_leases or stale_bytes.
  static absl::StatusOr<std::unique_ptr<RedisEngine>> Create(
      const RedisEngineOptions& options, const Clock& clock,
      const LeaseOptions& leases = LeaseOptions());
  ~RedisEngine() override;

  absl::string_view name() const override { return "redis"; }
  EngineCapabilities capabilities() const override {
    EngineCapabilities capabilities;
    capabilities.shared_across_replicas = capabilities.watch_across_replicas = true;
    return capabilities;
  }
  bool blocking() const override { return true; }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  // Sent on the pipe of the key's master (internal::RedisPipe), answered on its I/O thread;
  // false while that pipe is not connected (or the slot's master is not known yet).
  bool GetAsync(absl::string_view ns, absl::string_view key, GetCallback& done) override;
  // One pipelined batch per master on its pipe; false as GetAsync. A batch that meets anything
  // but plain replies (a redirection, an expired entry) is finished by MultiGet on the router's
  // thread.
  bool MultiGetAsync(absl::string_view ns, const std::vector<absl::string_view>& keys,
                     MultiGetCallback& done) override;
  // One round trip per server holding some of the keys (pipelined).
  absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGet(
      absl::string_view ns, const std::vector<absl::string_view>& keys) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  // One script on the key's bucket, atomic with the entry (the first Lease of a bucket also adds
  // it to the namespace's lease registry first: two more round trips). Never answers "full".
  absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                    absl::Duration lease_ttl) override;
  // One script on the key's bucket.
  absl::StatusOr<bool> EndLease(absl::string_view ns, absl::string_view key,
                                absl::string_view token) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  // Announces itself (one PUBLISH), voids every lease of `ns` (a new generation in each bucket
  // of its lease registry: one SMEMBERS, then one HSET per such bucket), walks each bucket's
  // index (or tag set) in batches of internal::kRemovalBatch, each batch one script, and
  // announces itself again once done (one PUBLISH, even after a failure part-way: then the
  // removal's error is returned). An entry written while it runs may be removed too.
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  // The buckets' counters: kBuckets small reads per namespace (for "", per namespace ever
  // stored). Expirations count the expired entries larder removed, over every replica sharing
  // the Redis; entries Redis expired on its own are counted once larder drops them from the
  // index (at a later write to their bucket, or an Invalidate).
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  // Reads the set of every namespace ever stored with SSCAN (pages of about 256 names, keeping
  // the limit + 1 smallest after `after`), then each listed namespace's counters as Stats does:
  // O(namespaces ever stored) set-scan steps plus kBuckets small reads per listed namespace.
  // Namespaces whose counters say empty are skipped.
  absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit) override;
  // OK when every master known answers and is a master (ROLE), and (cluster) every slot has
  // one: a replica refuses writes, so a demoted server is kUnavailable, and its reads would
  // serve whatever the new master has not replicated.
  absl::Status CheckHealth() override;
  // Starts following "<key prefix>changes" on a dedicated connection (standalone: the server;
  // cluster: any node, the known masters first, then the seeds): `listener` hears every Set
  // that stored, MultiSet item stored, Delete (whether or not something was removed), Touch
  // that found a live entry, and the two namespace-wide events of each Invalidate, made
  // through any engine sharing the Redis, this one included; OnLost / OnLive as the
  // subscription comes and goes (RedisChangeFeed). Expiry, reclaiming expired entries and Redis's
  // own eviction are not announced. A message arrives after its write is applied, not always
  // before its writer was answered; one master's keep their order, different masters' may not.
  // Costs one more connection and thread; on a cluster also a probe PUBLISH a second, on the
  // router's thread. Returns true.
  bool WatchChanges(ChangeListener* listener) override;

  // True once this engine knows no entry of its Redis is a layout 1 hash any more
  // (redis_layout.cc): from then on MultiGet reads with MGET.
  bool converted_layout() const { return all_strings_.load(std::memory_order_acquire); }

 private:
  // The keys of one bucket: "P{ns:bucket}" and its hash slot.
  struct Bucket {
    std::string base;
    uint16_t slot = 0;
    // The Redis key of `key`'s entry in this bucket.
    std::string EntryKey(absl::string_view key) const { return absl::StrCat(base, "e:", key); }
  };

  RedisEngine(const RedisEngineOptions& options, const LeaseOptions& leases, const Clock& clock,
              std::vector<internal::RedisEndpoint> seeds,
              std::unique_ptr<internal::RedisRouter> router);

  struct AsyncGet;
  // The reads (Gets, MultiGets) a serving thread's burst of calls sent to each master
  // (redis_burst_reads.cc): flushed by that thread on its own links (RedisPool::caller_links) once
  // the burst ends.
  struct ThreadReads final : DeferredWork {
    using Read = internal::BurstRead;
    void RunDeferred() override { engine->FlushReads(*this); }
    RedisEngine* engine = nullptr;
    std::vector<std::pair<internal::RedisPool*, std::vector<Read>>> by_pool;
  };
  // Sends idempotent reads to `pool`'s server: kept for the end of the burst on a serving thread,
  // else on its pipe. `done` runs once with their replies, as RedisPipe::Send's. `mget_slot` as
  // internal::BurstRead's.
  void SendReads(internal::RedisPool& pool, std::vector<std::vector<absl::string_view>> commands,
                 internal::RedisPipe::Callback done, int mget_slot = -1);
  void FlushReads(ThreadReads& reads);
  void FlushReadsTo(internal::RedisPool& pool, std::vector<ThreadReads::Read>& batch);
  struct AsyncMultiGet;
  void OnMultiGetReplies(const std::shared_ptr<AsyncMultiGet>& batch,
                         const std::vector<std::vector<size_t>>& groups,
                         absl::StatusOr<std::vector<internal::RedisReply>> replies);
  void FinishMultiGet(const std::shared_ptr<AsyncMultiGet>& batch);
  void SendGet(std::shared_ptr<AsyncGet> get, internal::RedisPool& pool, bool asking);
  void OnGetReply(std::shared_ptr<AsyncGet> get, internal::RedisPool& pool,
                  absl::StatusOr<std::vector<internal::RedisReply>> replies);
  // Answers `get` with GetEntry on the router's thread (for an expired or a layout 1 entry);
  // with `busy` at once when too many calls wait there.
  void ReadOnRouter(std::shared_ptr<AsyncGet> get, absl::StatusOr<std::optional<StoredEntry>> busy);

  Bucket BucketAt(absl::string_view ns, int index) const;
  Bucket BucketOf(absl::string_view ns, absl::string_view key) const;
  absl::StatusOr<internal::RedisReply> Eval(const Bucket& bucket, internal::Script script,
                                            const std::vector<absl::string_view>& keys,
                                            const std::vector<absl::string_view>& args);
  // The entry a GET's reply holds: converted first when it says WRONGTYPE, reclaimed (a miss)
  // when expired by `now`.
  absl::StatusOr<std::optional<StoredEntry>> EntryOfReply(const Bucket& bucket,
                                                          absl::string_view entry_key,
                                                          const redisReply& reply, absl::Time now);
  // Converts a layout 1 entry (Script::kConvert), then EntryOfReply of what it holds.
  absl::StatusOr<std::optional<StoredEntry>> ConvertedEntry(const Bucket& bucket,
                                                            absl::string_view entry_key,
                                                            absl::Time now);
  // A blocking Get: GET, then EntryOfReply.
  absl::StatusOr<std::optional<StoredEntry>> GetEntry(const Bucket& bucket,
                                                      absl::string_view entry_key);
  // Layout 1 to 2, once per Redis (redis_layout.cc): the converter thread's loop, retried with
  // backoff until it succeeds or the engine stops; then sets all_strings_.
  void ConvertLayoutUntilDone();
  absl::Status ConvertLayout();
  absl::Status ConvertEntriesOf(internal::RedisPool& pool);
  absl::Status ConvertEntry(absl::string_view entry_key);
  // Adds `ns` to "P namespaces", then marks the bucket as registered. Best effort: a bucket
  // left unmarked is registered again by its next Set.
  void Register(absl::string_view ns, const Bucket& bucket);
  // Each command's reply, run on the master of its slot: one pipeline per server. Error replies
  // are run again alone (redirections), but for WRONGTYPE, which is kept as the reply.
  absl::StatusOr<std::vector<internal::RedisReply>> RunEach(
      const std::vector<uint16_t>& slots,
      const std::vector<std::vector<absl::string_view>>& commands);
  // `command` on key "B<suffix>" followed by `args`, for every bucket B of `ns` (RunEach).
  absl::StatusOr<std::vector<internal::RedisReply>> RunOnEveryBucket(
      absl::string_view ns, absl::string_view command, absl::string_view suffix,
      const std::vector<absl::string_view>& args);
  // ZCARD of `suffix` ("i" or "t:<tag>") in every bucket of `ns`.
  absl::StatusOr<std::vector<int64_t>> Cardinalities(absl::string_view ns,
                                                     absl::string_view suffix);
  absl::StatusOr<int64_t> RemoveRepeatedly(const Bucket& bucket, internal::Script script,
                                           absl::string_view set_key, absl::string_view tag,
                                           int64_t members);
  absl::StatusOr<int64_t> RemoveMatching(const Bucket& bucket, const InvalidateTarget& target);
  // Invalidate's removals: voids the leases of `ns`, then removes what `target` selects.
  absl::StatusOr<int64_t> Remove(absl::string_view ns, const InvalidateTarget& target);
  absl::StatusOr<EngineStats> NamespaceStats(absl::string_view ns);
  // "P leased:<ns>": the buckets of `ns` that have granted leases.
  std::string LeaseRegistryOf(absl::string_view ns) const;
  // Adds bucket number `bucket` to the registry of `ns`; Lease calls it before a bucket's first
  // grant, so that every Invalidate that begins after a grant voids it.
  absl::Status JoinLeaseRegistry(absl::string_view ns, int bucket);
  // Gives every bucket of `ns` that may hold a lease a new generation, voiding its leases.
  absl::Status VoidLeases(absl::string_view ns);
  // PUBLISHes the change message of `target` in `ns` on the changes channel (on any master).
  absl::Status AnnounceInvalidation(absl::string_view ns, const InvalidateTarget& target);
  // PUBLISHes `message` on the changes channel, through the master of `slot`.
  absl::Status Publish(uint16_t slot, absl::string_view message);
  // The change feed's Prober (cluster only): publishes the probe through a random master, on
  // the router's thread.
  void Probe(std::string message, absl::AnyInvocable<void() &&> published);
  // The servers the change feed may subscribe to: the known masters, then the seeds.
  std::vector<internal::RedisEndpoint> FeedCandidates() const;

  const RedisEngineOptions options_;
  const std::string lease_grace_ms_;  // LeaseOptions::grace in ms, rounded up.
  const Clock& clock_;
  const std::string changes_channel_;  // "<key prefix>changes".
  const std::vector<internal::RedisEndpoint> seeds_;
  std::unique_ptr<internal::RedisRouter> router_;
  std::unique_ptr<internal::RedisChangeFeed> feed_;  // Destroyed before router_.
  // Set once no entry of this Redis is a layout 1 hash ("P layout" is "2"): MultiGet may MGET.
  std::atomic<bool> all_strings_{false};
  std::array<ThreadReads, DeferredWork::kMaxThreads> thread_reads_;  // Each its own thread's.
  absl::Notification stop_converting_;
  std::thread converter_;  // Runs ConvertLayoutUntilDone; joined by the destructor.
};

// Registers "redis" in `registry`.
void RegisterRedisEngine(EngineRegistry& registry);

}  // namespace larder::storage

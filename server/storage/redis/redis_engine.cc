#include "server/storage/redis/redis_engine.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_change_feed.h"
#include "server/storage/redis/redis_change_message.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage {
namespace {

using internal::RedisConnection;
using internal::RedisReply;
using internal::Script;

std::string MicrosText(absl::Time time) { return absl::StrCat(absl::ToUnixMicros(time)); }

// The stored expiry: unix micros, or "" for never. An entry's string holds 16 digits: an expiry
// after the year 2286 is never, one before 1970 is 0.
std::string ExpiryText(absl::Time expires_at) {
  if (expires_at >= absl::FromUnixMicros(int64_t{9'999'999'999'999'999})) return std::string();
  return MicrosText(std::max(expires_at, absl::UnixEpoch()));
}

// Redis's own TTL for the entry in ms, rounded up and at least 1; "0" for none.
std::string NativeTtlText(absl::Time expires_at, absl::Time now) {
  if (expires_at == absl::InfiniteFuture()) return "0";
  const absl::Duration left = expires_at - now;
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(left) + 1));
}

absl::Status InvalidOption(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("redis engine: ", what));
}

absl::Status ValidateOptions(const RedisEngineOptions& options) {
  if (options.pool_size < 1) return InvalidOption("pool size must be at least 1");
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.command_timeout <= absl::ZeroDuration()) {
    return InvalidOption("timeouts must be positive");
  }
  if (options.key_prefix.find_first_of("{}") != std::string::npos) {
    return InvalidOption(
        "--redis-key-prefix must not contain '{' or '}' (Redis Cluster hash tags)");
  }
  return absl::OkStatus();
}

// The condition of a kSet script: its mode, and (in `condition`) its arguments after the tags:
// If-Match's strong tags, or the lease token and the grace of stale values in ms.
std::string ConditionOf(const SetOptions& options, absl::string_view grace_ms,
                        std::vector<std::string>& condition) {
  if (options.lease_token.has_value()) {  // Never combined with if_match / if_absent.
    condition = {*options.lease_token, std::string(grace_ms)};
    return "t";
  }
  if (options.if_absent) return "a";
  if (!options.if_match.has_value()) return "";
  if (IsEntityTagWildcard(*options.if_match)) return "*";
  for (const EntityTag& tag : ParseEntityTagList(*options.if_match)) {
    if (!tag.weak) condition.emplace_back(tag.opaque);
  }
  return "m";
}

absl::StatusOr<std::vector<internal::RedisEndpoint>> SeedsOf(const RedisEngineOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::vector<internal::RedisEndpoint> seeds,
                          internal::ParseRedisSeeds(options.url));
  for (internal::RedisEndpoint& seed : seeds) {
    if (seed.password.empty()) seed.password = options.password;
  }
  return seeds;
}

// The grace of stale values in whole ms, rounded up ("0": none).
std::string GraceMillisText(absl::Duration grace) {
  if (grace <= absl::ZeroDuration()) return "0";
  return absl::StrCat(absl::Ceil(grace, absl::Milliseconds(1)) / absl::Milliseconds(1));
}

}  // namespace

RedisEngine::RedisEngine(const RedisEngineOptions& options, const LeaseOptions& leases,
                         const Clock& clock, std::vector<internal::RedisEndpoint> seeds,
                         std::unique_ptr<internal::RedisRouter> router)
    : options_(options),
      lease_grace_ms_(GraceMillisText(leases.grace)),
      clock_(clock),
      changes_channel_(absl::StrCat(options.key_prefix, internal::kChangesChannelSuffix)),
      seeds_(std::move(seeds)),
      router_(std::move(router)) {}

RedisEngine::~RedisEngine() {
  stop_converting_.Notify();
  if (converter_.joinable()) converter_.join();
}

absl::StatusOr<std::unique_ptr<RedisEngine>> RedisEngine::Create(const RedisEngineOptions& options,
                                                                 const Clock& clock,
                                                                 const LeaseOptions& leases) {
  LARDER_RETURN_IF_ERROR(ValidateOptions(options));
  LARDER_ASSIGN_OR_RETURN(internal::RedisMode mode, internal::ParseRedisMode(options.mode));
  LARDER_ASSIGN_OR_RETURN(std::vector<internal::RedisEndpoint> seeds, SeedsOf(options));
  internal::RedisRouterOptions router_options;
  router_options.mode = mode;
  router_options.pool.size = options.pool_size;
  router_options.pool.connect_timeout = options.connect_timeout;
  router_options.pool.command_timeout = options.command_timeout;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<internal::RedisRouter> router,
                          internal::RedisRouter::Create(seeds, router_options));
  std::unique_ptr<RedisEngine> engine(
      new RedisEngine(options, leases, clock, std::move(seeds), std::move(router)));
  engine->converter_ = std::thread([raw = engine.get()] { raw->ConvertLayoutUntilDone(); });
  return engine;
}

RedisEngine::Bucket RedisEngine::BucketAt(absl::string_view ns, int index) const {
  Bucket bucket;
  bucket.base = absl::StrCat(options_.key_prefix, "{", ns, ":", index, "}");
  bucket.slot = internal::KeySlot(bucket.base);
  return bucket;
}

RedisEngine::Bucket RedisEngine::BucketOf(absl::string_view ns, absl::string_view key) const {
  return BucketAt(ns, internal::Crc16(key) % kBuckets);
}

absl::StatusOr<RedisReply> RedisEngine::Eval(const Bucket& bucket, Script script,
                                             const std::vector<absl::string_view>& keys,
                                             const std::vector<absl::string_view>& args) {
  return router_->Run(bucket.slot, [&](RedisConnection& connection) {
    return connection.Eval(script, keys, args);
  });
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::EntryOfReply(const Bucket& bucket,
                                                                     absl::string_view entry_key,
                                                                     const redisReply& reply,
                                                                     absl::Time now) {
  if (internal::IsWrongType(reply)) return ConvertedEntry(bucket, entry_key, now);
  LARDER_ASSIGN_OR_RETURN(std::optional<StoredEntry> entry, internal::DecodeEntryReply(reply));
  if (!entry.has_value() || entry->expires_at > now) return entry;
  const std::string now_text = MicrosText(now);
  LARDER_RETURN_IF_ERROR(
      Eval(bucket, Script::kReclaim, {entry_key}, {now_text, bucket.base}).status());
  return std::nullopt;
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::ConvertedEntry(const Bucket& bucket,
                                                                       absl::string_view entry_key,
                                                                       absl::Time now) {
  const std::string now_text = MicrosText(now);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                          Eval(bucket, Script::kConvert, {entry_key}, {now_text, bucket.base}));
  return EntryOfReply(bucket, entry_key, *reply, now);  // Eval's reply is never an error.
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::GetEntry(const Bucket& bucket,
                                                                 absl::string_view entry_key) {
  bool wrong_type = false;
  absl::StatusOr<RedisReply> reply = router_->Run(bucket.slot, [&](RedisConnection& c) {
    absl::StatusOr<RedisReply> got = c.Run({"GET", entry_key});
    wrong_type = !got.ok() && absl::StartsWith(c.last_error(), "WRONGTYPE");
    return got;
  });
  if (wrong_type) return ConvertedEntry(bucket, entry_key, clock_.Now());
  if (!reply.ok()) return reply.status();
  return EntryOfReply(bucket, entry_key, **reply, clock_.Now());
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::Get(absl::string_view ns,
                                                            absl::string_view key) {
  const Bucket bucket = BucketOf(ns, key);
  return GetEntry(bucket, bucket.EntryKey(key));
}

absl::StatusOr<std::vector<std::optional<StoredEntry>>> RedisEngine::MultiGet(
    absl::string_view ns, const std::vector<absl::string_view>& keys) {
  std::vector<Bucket> buckets;
  std::vector<std::string> entry_keys;
  std::vector<uint16_t> slots;
  std::vector<std::vector<absl::string_view>> commands;
  buckets.reserve(keys.size());
  entry_keys.reserve(keys.size());
  for (absl::string_view key : keys) {
    buckets.push_back(BucketOf(ns, key));
    entry_keys.push_back(buckets.back().EntryKey(key));
    slots.push_back(buckets.back().slot);
  }
  for (const std::string& entry_key : entry_keys) commands.push_back({"GET", entry_key});
  LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, RunEach(slots, commands));
  const absl::Time now = clock_.Now();
  std::vector<std::optional<StoredEntry>> entries;
  entries.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(std::optional<StoredEntry> entry,
                            EntryOfReply(buckets[i], entry_keys[i], *replies[i], now));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<SetResult> RedisEngine::Set(absl::string_view ns, absl::string_view key,
                                           absl::string_view value, const SetOptions& options) {
  const absl::Time now = clock_.Now();
  const Bucket bucket = BucketOf(ns, key);
  std::vector<std::string> condition;
  const std::string mode = ConditionOf(options, lease_grace_ms_, condition);
  const std::string now_text = MicrosText(now), expiry = ExpiryText(options.expires_at);
  const std::string ttl = NativeTtlText(options.expires_at, now);
  const std::string tag_count = absl::StrCat(options.tags.size());
  std::vector<absl::string_view> args = {now_text,     bucket.base, mode, value,
                                         options.etag, expiry,      ttl,  tag_count};
  args.insert(args.end(), options.tags.begin(), options.tags.end());
  args.insert(args.end(), condition.begin(), condition.end());
  const std::string entry_key = bucket.EntryKey(key);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, Eval(bucket, Script::kSet, {entry_key}, args));
  LARDER_ASSIGN_OR_RETURN(internal::SetScriptResult result, internal::DecodeSetReply(*reply));
  if (result.unregistered) Register(ns, bucket);
  return result.result;
}

void RedisEngine::Register(absl::string_view ns, const Bucket& bucket) {
  const std::string registry = absl::StrCat(options_.key_prefix, "namespaces");
  const absl::StatusOr<RedisReply> added =
      router_->Run(internal::KeySlot(registry), [&](RedisConnection& c) {
        return c.Run({"SADD", registry, ns});
      });
  if (!added.ok()) return;
  const std::string counters = absl::StrCat(bucket.base, "c");
  (void)router_->Run(bucket.slot, [&](RedisConnection& c) {
    return c.Run({"HSET", counters, "r", "1"});
  });
}

absl::StatusOr<bool> RedisEngine::Delete(absl::string_view ns, absl::string_view key) {
  const Bucket bucket = BucketOf(ns, key);
  const std::string now_text = MicrosText(clock_.Now());
  const std::string entry_key = bucket.EntryKey(key);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                          Eval(bucket, Script::kDelete, {entry_key}, {now_text, bucket.base}));
  return internal::DecodeDeleteReply(*reply);
}

absl::StatusOr<std::optional<std::string>> RedisEngine::Touch(absl::string_view ns,
                                                              absl::string_view key,
                                                              absl::Time expires_at) {
  const absl::Time now = clock_.Now();
  const Bucket bucket = BucketOf(ns, key);
  const std::string now_text = MicrosText(now);
  const std::string entry_key = bucket.EntryKey(key);
  const std::string expiry = ExpiryText(expires_at), ttl = NativeTtlText(expires_at, now);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, Eval(bucket, Script::kTouch, {entry_key},
                                                 {now_text, bucket.base, expiry, ttl}));
  return internal::DecodeTouchReply(*reply);
}

absl::Status RedisEngine::CheckHealth() {
  const std::vector<internal::RedisPool*> masters = router_->Masters();
  if (masters.empty()) {
    (void)router_->MaybeRefresh();
    return absl::UnavailableError(
        absl::StrCat("redis: no master reachable yet (seeds ", router_->Describe(), ")"));
  }
  for (internal::RedisPool* pool : masters) {
    LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool->Acquire());
    LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection->Run({"ROLE"}));
    LARDER_ASSIGN_OR_RETURN(bool master, internal::DecodeRoleReplyIsMaster(*reply));
    if (master) continue;
    (void)router_->MaybeRefresh();
    return absl::UnavailableError(absl::StrCat("redis at ", pool->endpoint().Describe(),
                                               " is a replica now: it refuses writes"));
  }
  for (int slot = 0; slot < internal::kClusterSlots; ++slot) {
    if (router_->PoolOf(static_cast<uint16_t>(slot)) != nullptr) continue;
    return absl::UnavailableError(absl::StrCat("redis: no master serves slot ", slot));
  }
  return absl::OkStatus();
}

bool RedisEngine::WatchChanges(ChangeListener* listener) {
  if (feed_ != nullptr || listener == nullptr) return true;  // Called at most once.
  internal::RedisChangeFeedOptions feed_options;
  feed_options.channel = changes_channel_;
  feed_options.connect_timeout = options_.connect_timeout;
  feed_options.command_timeout = options_.command_timeout;
  feed_options.probe_timeout = options_.command_timeout * 2 + feed_options.ping_interval;
  feed_ = std::make_unique<internal::RedisChangeFeed>(
      [this] { return FeedCandidates(); },
      [this](std::string message, absl::AnyInvocable<void() &&> published) {
        Probe(std::move(message), std::move(published));
      },
      std::move(feed_options), *listener);
  return true;
}

void RedisEngine::Probe(std::string message, absl::AnyInvocable<void() &&> published) {
  if (!router_->cluster()) return;  // One server: PING says it all.
  // On the router's thread, which outlives the feed; through a random slot's master, so that
  // over a few probes every master is tried, whichever node the feed subscribed to.
  router_->Post([this, message = std::move(message), published = std::move(published)]() mutable {
    const uint16_t slot = absl::Uniform<uint16_t>(absl::BitGen(), 0, internal::kClusterSlots);
    if (Publish(slot, message).ok()) std::move(published)();
  });
}

absl::Status RedisEngine::Publish(uint16_t slot, absl::string_view message) {
  return router_
      ->Run(slot,
            [&](RedisConnection& c) {
              return c.Run({"PUBLISH", changes_channel_, message});
            })
      .status();
}

std::vector<internal::RedisEndpoint> RedisEngine::FeedCandidates() const {
  std::vector<internal::RedisEndpoint> candidates;
  absl::flat_hash_set<std::string> seen;
  for (const internal::RedisPool* pool : router_->Masters()) {
    if (seen.insert(pool->endpoint().Describe()).second) candidates.push_back(pool->endpoint());
  }
  for (const internal::RedisEndpoint& seed : seeds_) {
    if (seen.insert(seed.Describe()).second) candidates.push_back(seed);
  }
  return candidates;
}

void RegisterRedisEngine(EngineRegistry& registry) {
  registry.Register("redis",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine = RedisEngine::Create(options.redis, clock, options.leases);
                      if (!engine.ok()) return std::move(engine).status();
                      return std::unique_ptr<StorageEngine>(*std::move(engine));
                    });
}

}  // namespace larder::storage

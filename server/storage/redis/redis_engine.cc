#include "server/storage/redis/redis_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_url.h"

namespace larder::storage {
namespace {

using internal::RedisConnection;
using internal::RedisReply;
using internal::Script;

std::string MicrosText(absl::Time time) { return absl::StrCat(absl::ToUnixMicros(time)); }

// The stored expiry: unix micros, or "" for never.
std::string ExpiryText(absl::Time expires_at) {
  return expires_at == absl::InfiniteFuture() ? std::string() : MicrosText(expires_at);
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
  return absl::OkStatus();
}

// Appends the If-Match condition to a kSet script's arguments: the mode, then (after the
// tags, which the caller appends first) the strong tags of the list.
std::string IfMatchMode(const SetOptions& options, std::vector<std::string>& match_tags) {
  if (options.if_absent) return "a";
  if (!options.if_match.has_value()) return "";
  if (IsEntityTagWildcard(*options.if_match)) return "*";
  for (const EntityTag& tag : ParseEntityTagList(*options.if_match)) {
    if (!tag.weak) match_tags.emplace_back(tag.opaque);
  }
  return "m";
}

}  // namespace

RedisEngine::RedisEngine(const RedisEngineOptions& options, const Clock& clock,
                         std::unique_ptr<internal::RedisPool> pool)
    : options_(options), clock_(clock), pool_(std::move(pool)) {}

RedisEngine::~RedisEngine() = default;

absl::StatusOr<std::unique_ptr<RedisEngine>> RedisEngine::Create(const RedisEngineOptions& options,
                                                                 const Clock& clock) {
  LARDER_RETURN_IF_ERROR(ValidateOptions(options));
  LARDER_ASSIGN_OR_RETURN(internal::RedisEndpoint endpoint, internal::ParseRedisUrl(options.url));
  if (endpoint.password.empty()) endpoint.password = options.password;
  internal::RedisPoolOptions pool_options;
  pool_options.size = options.pool_size;
  pool_options.connect_timeout = options.connect_timeout;
  pool_options.command_timeout = options.command_timeout;
  auto pool = std::make_unique<internal::RedisPool>(std::move(endpoint), pool_options);
  {
    absl::StatusOr<internal::RedisPool::Lease> first = pool->Acquire();
    if (!first.ok() && first.status().code() != absl::StatusCode::kUnavailable) {
      return first.status();
    }
  }
  return std::unique_ptr<RedisEngine>(new RedisEngine(options, clock, std::move(pool)));
}

std::string RedisEngine::EntryPrefix(absl::string_view ns) const {
  if (ns.empty()) return absl::StrCat(options_.key_prefix, "e:");
  return absl::StrCat(options_.key_prefix, "e:", ns, ":");
}

std::string RedisEngine::EntryKey(absl::string_view ns, absl::string_view key) const {
  return absl::StrCat(EntryPrefix(ns), key);
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::EntryOfReply(RedisConnection& connection,
                                                                     absl::string_view ns,
                                                                     absl::string_view key,
                                                                     const redisReply& reply,
                                                                     absl::Time now) {
  LARDER_ASSIGN_OR_RETURN(std::optional<StoredEntry> entry, internal::DecodeEntryReply(reply));
  if (!entry.has_value() || entry->expires_at > now) return entry;
  const std::string now_text = MicrosText(now);
  const std::string entry_key = EntryKey(ns, key);
  LARDER_RETURN_IF_ERROR(
      connection.Eval(Script::kReclaim, {entry_key}, {now_text, options_.key_prefix, ns}).status());
  return std::nullopt;
}

absl::StatusOr<std::optional<StoredEntry>> RedisEngine::Get(absl::string_view ns,
                                                            absl::string_view key) {
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  const std::string entry_key = EntryKey(ns, key);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection->Run({"HMGET", entry_key, "v", "e", "x"}));
  return EntryOfReply(*connection, ns, key, *reply, clock_.Now());
}

absl::StatusOr<std::vector<std::optional<StoredEntry>>> RedisEngine::MultiGet(
    absl::string_view ns, const std::vector<absl::string_view>& keys) {
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  std::vector<std::string> entry_keys;
  entry_keys.reserve(keys.size());
  for (absl::string_view key : keys) entry_keys.push_back(EntryKey(ns, key));
  std::vector<std::vector<absl::string_view>> commands;
  for (const std::string& entry_key : entry_keys) {
    commands.push_back({"HMGET", entry_key, "v", "e", "x"});
  }
  LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, connection->RunPipeline(commands));
  const absl::Time now = clock_.Now();
  std::vector<std::optional<StoredEntry>> entries;
  entries.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(std::optional<StoredEntry> entry,
                            EntryOfReply(*connection, ns, keys[i], *replies[i], now));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<SetResult> RedisEngine::Set(absl::string_view ns, absl::string_view key,
                                           absl::string_view value, const SetOptions& options) {
  const absl::Time now = clock_.Now();
  std::vector<std::string> match_tags;
  const std::string mode = IfMatchMode(options, match_tags);
  const std::string now_text = MicrosText(now), expiry = ExpiryText(options.expires_at);
  const std::string ttl = NativeTtlText(options.expires_at, now);
  const std::string tag_count = absl::StrCat(options.tags.size());
  std::vector<absl::string_view> args = {
      now_text, options_.key_prefix, ns, mode, value, options.etag, expiry, ttl, tag_count};
  args.insert(args.end(), options.tags.begin(), options.tags.end());
  args.insert(args.end(), match_tags.begin(), match_tags.end());
  const std::string entry_key = EntryKey(ns, key);
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection->Eval(Script::kSet, {entry_key}, args));
  return internal::DecodeSetReply(*reply);
}

absl::StatusOr<bool> RedisEngine::Delete(absl::string_view ns, absl::string_view key) {
  const std::string now_text = MicrosText(clock_.Now()), entry_key = EntryKey(ns, key);
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection->Eval(Script::kDelete, {entry_key},
                                                             {now_text, options_.key_prefix, ns}));
  return internal::DecodeDeleteReply(*reply);
}

absl::StatusOr<std::optional<std::string>> RedisEngine::Touch(absl::string_view ns,
                                                              absl::string_view key,
                                                              absl::Time expires_at) {
  const absl::Time now = clock_.Now();
  const std::string now_text = MicrosText(now), entry_key = EntryKey(ns, key);
  const std::string expiry = ExpiryText(expires_at), ttl = NativeTtlText(expires_at, now);
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                          connection->Eval(Script::kTouch, {entry_key},
                                           {now_text, options_.key_prefix, ns, expiry, ttl}));
  return internal::DecodeTouchReply(*reply);
}

absl::Status RedisEngine::CheckHealth() {
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection->Run({"ROLE"}));
  LARDER_ASSIGN_OR_RETURN(bool master, internal::DecodeRoleReplyIsMaster(*reply));
  if (master) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("redis at ", pool_->endpoint().Describe(),
                                             " is a replica now: it refuses writes"));
}

void RegisterRedisEngine(EngineRegistry& registry) {
  registry.Register("redis",
                    [](const EngineOptions& options,
                       const Clock& clock) -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
                      auto engine = RedisEngine::Create(options.redis, clock);
                      if (!engine.ok()) return std::move(engine).status();
                      return std::unique_ptr<StorageEngine>(*std::move(engine));
                    });
}

}  // namespace larder::storage

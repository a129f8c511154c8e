// RedisEngine::Invalidate and RedisEngine::Stats: the calls that walk many keys. They SCAN (never
// KEYS) with a MATCH pattern narrowed to the namespace (and to a prefix's or glob's literal
// start), and hand each page of keys to one script, so Redis is never blocked for long and a key
// removed concurrently is simply not counted.
#include <utility>

#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "server/storage/glob.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"

namespace larder::storage {
namespace {

using internal::RedisConnection;
using internal::RedisReply;
using internal::Script;

constexpr absl::string_view kScanCount = "512";

// `literal` as a Redis MATCH pattern that matches only itself.
std::string EscapeForMatch(absl::string_view literal) {
  std::string escaped;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

std::string NowText(const Clock& clock) { return absl::StrCat(absl::ToUnixMicros(clock.Now())); }

}  // namespace

absl::StatusOr<std::vector<std::string>> RedisEngine::ScanPage(RedisConnection& connection,
                                                               absl::string_view set_key,
                                                               absl::string_view match,
                                                               std::string& cursor) {
  std::vector<absl::string_view> command;
  if (set_key.empty()) {
    command = {"SCAN", cursor, "MATCH", match, "COUNT", kScanCount};
  } else {
    command = {"SSCAN", set_key, cursor, "COUNT", kScanCount};
  }
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection.Run(command));
  return internal::DecodeScanPage(*reply, cursor);
}

absl::StatusOr<int64_t> RedisEngine::RemoveBatch(RedisConnection& connection, absl::string_view ns,
                                                 const std::vector<std::string>& keys,
                                                 const std::string* required_tag) {
  if (keys.empty()) return 0;
  const std::string now_text = NowText(clock_);
  std::vector<absl::string_view> key_views(keys.begin(), keys.end());
  std::vector<absl::string_view> args = {now_text, options_.key_prefix, ns,
                                         required_tag != nullptr ? "1" : "0"};
  if (required_tag != nullptr) args.push_back(*required_tag);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection.Eval(Script::kRemoveBatch, key_views, args));
  return internal::DecodeCountReply(*reply);
}

absl::StatusOr<int64_t> RedisEngine::RemoveTagged(RedisConnection& connection, absl::string_view ns,
                                                  absl::string_view tag) {
  const std::string set_key = absl::StrCat(options_.key_prefix, "t:", ns, ":", tag);
  const std::string required_tag(tag);
  int64_t removed = 0;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                            ScanPage(connection, set_key, "", cursor));
    for (std::string& key : keys) key = EntryKey(ns, key);
    LARDER_ASSIGN_OR_RETURN(int64_t batch, RemoveBatch(connection, ns, keys, &required_tag));
    removed += batch;
  } while (cursor != "0");
  return removed;
}

absl::StatusOr<int64_t> RedisEngine::Invalidate(absl::string_view ns,
                                                const InvalidateTarget& target) {
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  using Kind = InvalidateTarget::Kind;
  if (target.kind == Kind::kTag) return RemoveTagged(*connection, ns, target.argument);
  const std::string literal = target.kind == Kind::kAll      ? std::string()
                              : target.kind == Kind::kPrefix ? target.argument
                                                             : GlobLiteralPrefix(target.argument);
  const std::string entry_prefix = EntryPrefix(ns);
  const std::string match = EscapeForMatch(absl::StrCat(entry_prefix, literal)) + "*";
  int64_t removed = 0;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                            ScanPage(*connection, "", match, cursor));
    if (target.kind == Kind::kPattern) {
      std::erase_if(keys, [&](const std::string& key) {
        return !GlobMatch(target.argument, absl::string_view(key).substr(entry_prefix.size()));
      });
    }
    LARDER_ASSIGN_OR_RETURN(int64_t batch, RemoveBatch(*connection, ns, keys, nullptr));
    removed += batch;
  } while (cursor != "0");
  return removed;
}

absl::StatusOr<int64_t> RedisEngine::Expirations(RedisConnection& connection,
                                                 absl::string_view ns) {
  const std::string stats_prefix = absl::StrCat(options_.key_prefix, "s:");
  if (!ns.empty()) {
    const std::string stats_key = absl::StrCat(stats_prefix, ns);
    LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection.Run({"HGET", stats_key, "expirations"}));
    return internal::DecodeCountReply(*reply);
  }
  const std::string match = EscapeForMatch(stats_prefix) + "*";
  int64_t total = 0;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> keys, ScanPage(connection, "", match, cursor));
    std::vector<std::vector<absl::string_view>> commands;
    for (const std::string& key : keys) commands.push_back({"HGET", key, "expirations"});
    LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, connection.RunPipeline(commands));
    for (const RedisReply& reply : replies) {
      LARDER_ASSIGN_OR_RETURN(int64_t expirations, internal::DecodeCountReply(*reply));
      total += expirations;
    }
  } while (cursor != "0");
  return total;
}

absl::StatusOr<EngineStats> RedisEngine::Stats(absl::string_view ns) {
  LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool_->Acquire());
  const std::string match = EscapeForMatch(EntryPrefix(ns)) + "*";
  const std::string now_text = NowText(clock_);
  EngineStats stats;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                            ScanPage(*connection, "", match, cursor));
    if (keys.empty()) continue;
    std::vector<absl::string_view> key_views(keys.begin(), keys.end());
    LARDER_ASSIGN_OR_RETURN(
        RedisReply reply,
        connection->Eval(Script::kStatsBatch, key_views, {now_text, options_.key_prefix, ""}));
    LARDER_ASSIGN_OR_RETURN(internal::StatsBatchCounts counts,
                            internal::DecodeStatsBatchReply(*reply));
    stats.entries += counts.entries;
    stats.bytes += counts.bytes;
  } while (cursor != "0");
  LARDER_ASSIGN_OR_RETURN(stats.expirations, Expirations(*connection, ns));
  return stats;
}

}  // namespace larder::storage

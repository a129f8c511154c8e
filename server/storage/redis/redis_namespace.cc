// RedisEngine's calls over many entries: MultiGet's and Stats's batched reads, Invalidate and
// Stats. They read each bucket of a namespace (RedisEngine::kBuckets, spread over the cluster's
// masters) with one pipeline per server, and remove entries in batches of one script each, so
// Redis is never blocked for long and no call ever scans Redis's whole keyspace. An Invalidate
// announces itself on the changes channel when it begins and once it has removed everything.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "server/storage/glob.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_change_message.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"

namespace larder::storage {
namespace {

using internal::RedisConnection;
using internal::RedisReply;
using internal::Script;

std::string NowText(const Clock& clock) { return absl::StrCat(absl::ToUnixMicros(clock.Now())); }

// The user key of an index member "<size>:<key>".
absl::string_view KeyOfMember(absl::string_view member) {
  const size_t colon = member.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : member.substr(colon + 1);
}

bool Selects(const InvalidateTarget& target, absl::string_view key) {
  if (target.kind == InvalidateTarget::Kind::kPrefix) return absl::StartsWith(key, target.argument);
  return GlobMatch(target.argument, key);
}

}  // namespace

absl::StatusOr<std::vector<RedisReply>> RedisEngine::RunEach(
    const std::vector<uint16_t>& slots,
    const std::vector<std::vector<absl::string_view>>& commands) {
  absl::flat_hash_map<internal::RedisPool*, std::vector<size_t>> by_server;
  std::vector<size_t> unrouted;
  for (size_t i = 0; i < slots.size(); ++i) {
    internal::RedisPool* pool = router_->PoolOf(slots[i]);
    (pool != nullptr ? by_server[pool] : unrouted).push_back(i);
  }
  std::vector<RedisReply> replies(commands.size());
  for (const auto& [pool, indices] : by_server) {
    LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool->Acquire());
    std::vector<std::vector<absl::string_view>> batch;
    for (size_t i : indices) batch.push_back(commands[i]);
    absl::StatusOr<std::vector<RedisReply>> batch_replies = connection->RunPipeline(batch);
    if (!batch_replies.ok()) {
      if (router_->cluster()) (void)router_->MaybeRefresh();
      return batch_replies.status();
    }
    for (size_t j = 0; j < indices.size(); ++j) {
      const redisReply& reply = *(*batch_replies)[j];
      if (reply.type == REDIS_REPLY_ERROR && !internal::IsWrongType(reply)) {
        unrouted.push_back(indices[j]);  // Redirected (resharding) or refused: alone, below.
      } else {
        replies[indices[j]] = std::move((*batch_replies)[j]);
      }
    }
  }
  for (size_t i : unrouted) {
    // Alone through the router, which follows redirections; WRONGTYPE stays a reply here too.
    LARDER_ASSIGN_OR_RETURN(
        replies[i], router_->Run(slots[i], [&](RedisConnection& c) -> absl::StatusOr<RedisReply> {
          LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> alone, c.RunPipeline({commands[i]}));
          if (alone[0]->type == REDIS_REPLY_ERROR && !internal::IsWrongType(*alone[0])) {
            return internal::ErrorReplyStatus(*alone[0]);
          }
          return std::move(alone[0]);
        }));
  }
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisEngine::RunOnEveryBucket(
    absl::string_view ns, absl::string_view command, absl::string_view suffix,
    const std::vector<absl::string_view>& args) {
  std::vector<std::string> keys;
  std::vector<uint16_t> slots;
  for (int i = 0; i < kBuckets; ++i) {
    Bucket bucket = BucketAt(ns, i);
    keys.push_back(absl::StrCat(bucket.base, suffix));
    slots.push_back(bucket.slot);
  }
  std::vector<std::vector<absl::string_view>> commands;
  for (const std::string& key : keys) {
    commands.push_back({command, key});
    commands.back().insert(commands.back().end(), args.begin(), args.end());
  }
  return RunEach(slots, commands);
}

absl::StatusOr<std::vector<int64_t>> RedisEngine::Cardinalities(absl::string_view ns,
                                                                absl::string_view suffix) {
  LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies,
                          RunOnEveryBucket(ns, "ZCARD", suffix, {}));
  std::vector<int64_t> counts;
  for (const RedisReply& reply : replies) {
    LARDER_ASSIGN_OR_RETURN(int64_t count, internal::DecodeCountReply(*reply));
    counts.push_back(count);
  }
  return counts;
}

absl::StatusOr<int64_t> RedisEngine::RemoveRepeatedly(const Bucket& bucket, Script script,
                                                      absl::string_view set_key,
                                                      absl::string_view tag, int64_t members) {
  // Enough batches for the members there were when Invalidate began; members added since may
  // stay (they belong to entries written after it began).
  const int64_t batches = members / internal::kRemovalBatch + 1;
  int64_t removed = 0;
  for (int64_t i = 0; i < batches; ++i) {
    const std::string now_text = NowText(clock_);
    std::vector<absl::string_view> args = {now_text, bucket.base};
    if (script == Script::kRemoveTagged) args.push_back(tag);
    LARDER_ASSIGN_OR_RETURN(RedisReply reply, Eval(bucket, script, {set_key}, args));
    LARDER_ASSIGN_OR_RETURN(internal::RemovalProgress progress,
                            internal::DecodeRemovalProgressReply(*reply));
    removed += progress.removed;
    if (progress.remaining == 0) break;
  }
  return removed;
}

absl::StatusOr<int64_t> RedisEngine::RemoveMatching(const Bucket& bucket,
                                                    const InvalidateTarget& target) {
  const std::string index_key = absl::StrCat(bucket.base, "i");
  int64_t removed = 0;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(RedisReply page, router_->Run(bucket.slot, [&](RedisConnection& c) {
      return c.Run({"ZSCAN", index_key, cursor, "COUNT", "256"});
    }));
    // ZSCAN pages alternate member and score.
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> items,
                            internal::DecodeScanPage(*page, cursor));
    const std::string now_text = NowText(clock_);
    std::vector<absl::string_view> args = {now_text, bucket.base};
    for (size_t i = 0; i < items.size(); i += 2) {
      if (Selects(target, KeyOfMember(items[i]))) args.push_back(items[i]);
    }
    if (args.size() == 2) continue;
    LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                            Eval(bucket, Script::kRemoveMembers, {index_key}, args));
    LARDER_ASSIGN_OR_RETURN(int64_t batch, internal::DecodeCountReply(*reply));
    removed += batch;
  } while (cursor != "0");
  return removed;
}

absl::StatusOr<int64_t> RedisEngine::Invalidate(absl::string_view ns,
                                                const InvalidateTarget& target) {
  // Announced before anything is removed (readers drop their copies early), and again after the
  // last removal (a reader re-reading on that event cannot get a copy not yet removed); the
  // second even when the removal failed part-way, as some entries may have gone.
  LARDER_RETURN_IF_ERROR(AnnounceInvalidation(ns, target));
  absl::StatusOr<int64_t> removed = Remove(ns, target);
  const absl::Status announced = AnnounceInvalidation(ns, target);
  if (removed.ok() && !announced.ok()) return announced;
  return removed;
}

absl::StatusOr<int64_t> RedisEngine::Remove(absl::string_view ns, const InvalidateTarget& target) {
  using Kind = InvalidateTarget::Kind;
  const bool by_tag = target.kind == Kind::kTag;
  const std::string suffix = by_tag ? absl::StrCat("t:", target.argument) : "i";
  // Every kind voids every lease of the namespace, before it removes anything (a lease's key has
  // no tags yet, so no narrower rule could tell which leases a tag covers).
  LARDER_RETURN_IF_ERROR(VoidLeases(ns));
  LARDER_ASSIGN_OR_RETURN(std::vector<int64_t> members, Cardinalities(ns, suffix));
  int64_t removed = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (members[i] == 0) continue;
    const Bucket bucket = BucketAt(ns, i);
    const std::string set_key = absl::StrCat(bucket.base, suffix);
    absl::StatusOr<int64_t> batch;
    if (target.kind == Kind::kAll || by_tag) {
      batch = RemoveRepeatedly(bucket, by_tag ? Script::kRemoveTagged : Script::kRemoveAll, set_key,
                               by_tag ? absl::string_view(target.argument) : "", members[i]);
    } else {
      batch = RemoveMatching(bucket, target);
    }
    if (!batch.ok()) return batch.status();
    removed += *batch;
  }
  return removed;
}

absl::Status RedisEngine::AnnounceInvalidation(absl::string_view ns,
                                               const InvalidateTarget& target) {
  using Kind = InvalidateTarget::Kind;
  ChangeKind kind = ChangeKind::kAll;
  absl::string_view subject;
  if (target.kind != Kind::kAll) {
    kind = target.kind == Kind::kPrefix    ? ChangeKind::kPrefix
           : target.kind == Kind::kPattern ? ChangeKind::kPattern
                                           : ChangeKind::kTag;
    subject = target.argument;
  }
  // PUBLISH takes no key: any master will do, and on a cluster it reaches every node.
  return Publish(internal::KeySlot(changes_channel_),
                 internal::EncodeChangeMessage(ns, kind, subject));
}

absl::StatusOr<EngineStats> RedisEngine::NamespaceStats(absl::string_view ns) {
  LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies,
                          RunOnEveryBucket(ns, "HMGET", "c", {"n", "b", "x"}));
  EngineStats stats;
  for (const RedisReply& reply : replies) {
    LARDER_ASSIGN_OR_RETURN(EngineStats bucket, internal::DecodeCountersReply(*reply));
    stats.entries += bucket.entries;
    stats.bytes += bucket.bytes;
    stats.expirations += bucket.expirations;
  }
  // Counters lost to Redis's own eviction may leave a bucket's sum below zero.
  stats.entries = std::max<int64_t>(0, stats.entries);
  stats.bytes = std::max<int64_t>(0, stats.bytes);
  return stats;
}

absl::StatusOr<EngineStats> RedisEngine::Stats(absl::string_view ns) {
  if (!ns.empty()) return NamespaceStats(ns);
  const std::string registry = absl::StrCat(options_.key_prefix, "namespaces");
  LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                          router_->Run(internal::KeySlot(registry), [&](RedisConnection& c) {
                            return c.Run({"SMEMBERS", registry});
                          }));
  EngineStats total;
  for (size_t i = 0; i < internal::ArraySize(*reply); ++i) {
    const absl::string_view name = internal::StringOf(internal::ElementOf(*reply, i));
    if (name.empty()) continue;
    LARDER_ASSIGN_OR_RETURN(EngineStats stats, NamespaceStats(name));
    total.entries += stats.entries;
    total.bytes += stats.bytes;
    total.expirations += stats.expirations;
  }
  return total;
}

absl::StatusOr<NamespaceList> RedisEngine::ListNamespaces(absl::string_view after, size_t limit) {
  const std::string registry = absl::StrCat(options_.key_prefix, "namespaces");
  // The limit + 1 smallest names after `after`, from SSCAN pages of about 256 members.
  std::set<std::string> smallest;
  std::string cursor = "0";
  do {
    LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                            router_->Run(internal::KeySlot(registry), [&](RedisConnection& c) {
                              return c.Run({"SSCAN", registry, cursor, "COUNT", "256"});
                            }));
    LARDER_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            internal::DecodeScanPage(*reply, cursor));
    for (std::string& name : names) {
      if (name.empty() || absl::string_view(name) <= after) continue;
      smallest.insert(std::move(name));
      if (smallest.size() > limit + 1) smallest.erase(std::prev(smallest.end()));
    }
  } while (cursor != "0");
  NamespaceList list;
  size_t examined = 0;
  for (const std::string& name : smallest) {
    if (examined == limit) {
      list.resume_after = *std::prev(smallest.end(), 2);
      break;
    }
    ++examined;
    LARDER_ASSIGN_OR_RETURN(EngineStats stats, NamespaceStats(name));
    if (stats.entries > 0)
      list.namespaces.push_back(NamespaceInfo{name, stats.entries, stats.bytes});
  }
  return list;
}

}  // namespace larder::storage

// RedisEngine::MultiGetAsync: the keys of a MultiGet grouped by master, each master's one
// pipelined batch (an MGET per hash slot, one for all its keys on a standalone server) sent as
// Gets are (redis_async_get.cc: with the burst, on the serving thread's link, else on the pipe),
// answered when the last master's replies are in. The
// common case (plain replies) costs no thread; a batch that meets a redirection, an error reply,
// a layout 1 entry or an expired entry is redone by the blocking MultiGet on the router's
// thread, which follows redirections, converts and reclaims.
#include <hiredis/hiredis.h>

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"

namespace larder::storage {

struct RedisEngine::AsyncMultiGet {
  std::string ns;
  const std::vector<absl::string_view>* keys = nullptr;
  std::vector<std::string> entry_keys;
  MultiGetCallback done;

  absl::Mutex mutex;
  int groups_left ABSL_GUARDED_BY(mutex) = 0;
  bool redo ABSL_GUARDED_BY(mutex) = false;  // Finish with the blocking MultiGet.
  absl::Status failure ABSL_GUARDED_BY(mutex);
  std::vector<std::optional<StoredEntry>> entries ABSL_GUARDED_BY(mutex);

  // Takes the entries of one server's replies, a reply per group of keys (ServerReads). Whatever
  // is not a plain answer (a redirection or refusal, a WRONGTYPE, an expired entry) makes the
  // blocking MultiGet redo the batch: it follows redirections, converts and reclaims.
  void Collect(const std::vector<std::vector<size_t>>& groups,
               const std::vector<internal::RedisReply>& replies, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const redisReply& reply = *replies[g];
      const std::vector<size_t>& group = groups[g];
      if (group.size() > 1 && (reply.type != REDIS_REPLY_ARRAY || reply.elements != group.size())) {
        redo = true;
        continue;
      }
      for (size_t j = 0; j < group.size(); ++j) {
        absl::StatusOr<std::optional<StoredEntry>> entry =
            internal::DecodeEntryReply(group.size() > 1 ? *reply.element[j] : reply);
        if (!entry.ok() || (entry->has_value() && (*entry)->expires_at <= now)) {
          redo = true;
          continue;
        }
        entries[group[j]] = *std::move(entry);
      }
    }
  }
};

namespace {

// The keys of one MultiGet on one server, as the commands that read them: each group is the
// indices of the keys of one command (an MGET of a slot's keys, or a GET of one key).
struct ServerReads {
  std::vector<std::vector<size_t>> groups;
  absl::flat_hash_map<uint16_t, size_t> group_of_slot;
};

// Adds key `index` of `slot` to `reads`: to its slot's MGET when `mget` (a cluster refuses an
// MGET across slots; a standalone server has slot 0 for all), else as a GET of its own.
void AddRead(ServerReads& reads, uint16_t slot, size_t index, bool mget) {
  if (mget) {
    const auto [it, added] = reads.group_of_slot.try_emplace(slot, reads.groups.size());
    if (!added) return reads.groups[it->second].push_back(index);
  }
  reads.groups.push_back({index});
}

}  // namespace

bool RedisEngine::MultiGetAsync(absl::string_view ns, const std::vector<absl::string_view>& keys,
                                MultiGetCallback& done) {
  // MGET answers nil for an entry still kept as a layout 1 hash, where GET says WRONGTYPE.
  const bool mget = converted_layout();
  const bool cluster = router_->cluster();
  absl::flat_hash_map<internal::RedisPool*, ServerReads> by_master;
  auto batch = std::make_shared<AsyncMultiGet>();
  batch->entry_keys.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Bucket bucket = BucketOf(ns, keys[i]);
    internal::RedisPool* pool = router_->KnownPoolOf(bucket.slot);
    if (pool == nullptr || !pool->pipe().connected()) return false;
    AddRead(by_master[pool], cluster ? bucket.slot : 0, i, mget);
    batch->entry_keys.push_back(bucket.EntryKey(keys[i]));
  }
  batch->ns = std::string(ns);
  batch->keys = &keys;
  batch->done = std::move(done);
  {
    absl::MutexLock lock(&batch->mutex);
    batch->groups_left = static_cast<int>(by_master.size());
    batch->entries.resize(keys.size());
  }
  if (by_master.empty()) FinishMultiGet(batch);
  for (auto& [pool, reads] : by_master) {
    std::vector<std::vector<absl::string_view>> commands;
    commands.reserve(reads.groups.size());
    for (const std::vector<size_t>& group : reads.groups) {
      commands.emplace_back().reserve(group.size() + 1);
      commands.back().push_back(group.size() == 1 ? "GET" : "MGET");
      for (size_t i : group) commands.back().push_back(batch->entry_keys[i]);
    }
    SendReads(*pool, std::move(commands),
              [this, batch, groups = std::move(reads.groups)](
                  absl::StatusOr<std::vector<internal::RedisReply>> replies) {
                OnMultiGetReplies(batch, groups, std::move(replies));
              });
  }
  return true;
}

void RedisEngine::OnMultiGetReplies(const std::shared_ptr<AsyncMultiGet>& batch,
                                    const std::vector<std::vector<size_t>>& groups,
                                    absl::StatusOr<std::vector<internal::RedisReply>> replies) {
  {
    absl::MutexLock lock(&batch->mutex);
    if (!replies.ok()) {
      if (batch->failure.ok()) batch->failure = replies.status();
    } else {
      batch->Collect(groups, *replies, clock_.Now());
    }
    if (--batch->groups_left > 0) return;
  }
  FinishMultiGet(batch);
}

void RedisEngine::FinishMultiGet(const std::shared_ptr<AsyncMultiGet>& batch) {
  absl::Status failure;
  bool redo = false;
  std::vector<std::optional<StoredEntry>> entries;
  {
    absl::MutexLock lock(&batch->mutex);
    failure = batch->failure;
    redo = batch->redo;
    entries = std::move(batch->entries);
  }
  if (!failure.ok()) {
    if (router_->cluster()) router_->RefreshSoon();
    std::move(batch->done)(failure);
    return;
  }
  if (!redo) {
    std::move(batch->done)(std::move(entries));
    return;
  }
  const bool posted =
      router_->Post([this, batch] { std::move(batch->done)(MultiGet(batch->ns, *batch->keys)); });
  if (!posted) {
    std::move(batch->done)(absl::UnavailableError(
        "redis: too many calls wait for redirections or reclaims; retry later"));
  }
}

}  // namespace larder::storage

// RedisEngine::MultiGetAsync: the keys of a MultiGet grouped by master, each group one pipelined
// batch on that master's pipe, answered from the pipes' I/O threads when the last group's replies
// are in. The common case (plain replies) costs no thread; a batch that meets a redirection, an
// error reply or an expired entry is redone by the blocking MultiGet on the router's thread,
// which follows redirections and reclaims.
#include <hiredis/hiredis.h>

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
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
};

bool RedisEngine::MultiGetAsync(absl::string_view ns, const std::vector<absl::string_view>& keys,
                                MultiGetCallback& done) {
  absl::flat_hash_map<internal::RedisPool*, std::vector<size_t>> by_master;
  auto batch = std::make_shared<AsyncMultiGet>();
  for (size_t i = 0; i < keys.size(); ++i) {
    const Bucket bucket = BucketOf(ns, keys[i]);
    internal::RedisPool* pool = router_->KnownPoolOf(bucket.slot);
    if (pool == nullptr || !pool->pipe().connected()) return false;
    by_master[pool].push_back(i);
    batch->entry_keys.push_back(absl::StrCat(bucket.base, "e:", keys[i]));
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
  for (auto& [pool, indices] : by_master) {
    std::vector<std::vector<absl::string_view>> commands;
    for (size_t i : indices) commands.push_back({"HMGET", batch->entry_keys[i], "v", "e", "x"});
    pool->pipe().Send(commands, [this, batch, indices = std::move(indices)](
                                    absl::StatusOr<std::vector<internal::RedisReply>> replies) {
      OnMultiGetReplies(batch, indices, std::move(replies));
    });
  }
  return true;
}

void RedisEngine::OnMultiGetReplies(const std::shared_ptr<AsyncMultiGet>& batch,
                                    const std::vector<size_t>& indices,
                                    absl::StatusOr<std::vector<internal::RedisReply>> replies) {
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&batch->mutex);
    if (!replies.ok() && batch->failure.ok()) batch->failure = replies.status();
    for (size_t j = 0; replies.ok() && j < indices.size(); ++j) {
      const redisReply& reply = *(*replies)[j];
      absl::StatusOr<std::optional<StoredEntry>> entry =
          reply.type == REDIS_REPLY_ERROR
              ? absl::StatusOr<std::optional<StoredEntry>>(absl::UnavailableError("redirected"))
              : internal::DecodeEntryReply(reply);
      if (!entry.ok() || (entry->has_value() && (*entry)->expires_at <= now)) {
        batch->redo = true;
        continue;
      }
      batch->entries[indices[j]] = *std::move(entry);
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

// RedisEngine::GetAsync: a Get that larderd serves without a storage thread per call, many
// concurrent Gets sharing one write and one read. On a serving thread (DeferredWork: larderd's
// completion-queue threads) the Gets (and MultiGets) of a burst of calls go out together once it
// ends, one batch per master on that thread's own link (RedisPool::caller_links), whose replies the
// thread reads itself and answers at once; a batch its link cannot take goes out again on the
// master's pipe. Elsewhere a Get is sent on the pipe of its key's master and answered from the
// pipe's I/O thread. Redirections are followed on the pipe (MOVED updates the slot's master at once
// and asks the router to rediscover the rest); what would block (reclaiming an expired entry,
// converting a layout 1 entry, rediscovery) runs on the router's thread.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"

namespace larder::storage {

struct RedisEngine::AsyncGet {
  Bucket bucket;
  std::string entry_key;
  GetCallback done;
  int redirects = 0;
};

namespace {
constexpr int kMaxRedirects = 5;
constexpr absl::string_view kRouterBusy =
    "redis: too many calls wait for redirections, conversions or reclaims; retry later";
}  // namespace

bool RedisEngine::GetAsync(absl::string_view ns, absl::string_view key, GetCallback& done) {
  Bucket bucket = BucketOf(ns, key);
  internal::RedisPool* pool = router_->KnownPoolOf(bucket.slot);
  if (pool == nullptr || !pool->pipe().connected()) return false;
  auto get = std::make_shared<AsyncGet>();
  get->entry_key = absl::StrCat(bucket.base, "e:", key);
  get->bucket = std::move(bucket);
  get->done = std::move(done);
  SendGet(std::move(get), *pool, /*asking=*/false);
  return true;
}

void RedisEngine::SendGet(std::shared_ptr<AsyncGet> get, internal::RedisPool& pool, bool asking) {
  std::vector<std::vector<absl::string_view>> commands;
  if (asking) commands.push_back({"ASKING"});
  commands.push_back({"GET", get->entry_key});
  internal::RedisPool* target = &pool;
  SendReads(pool, std::move(commands),
            [this, get, target](absl::StatusOr<std::vector<internal::RedisReply>> replies) mutable {
              OnGetReply(std::move(get), *target, std::move(replies));
            });
}

void RedisEngine::SendReads(internal::RedisPool& pool,
                            std::vector<std::vector<absl::string_view>> commands,
                            internal::RedisPipe::Callback done) {
  const int thread = DeferredWork::ThisThreadIndex();
  if (thread < 0) return pool.pipe().Send(commands, std::move(done));
  ThreadReads& reads = thread_reads_[static_cast<size_t>(thread)];
  reads.engine = this;
  auto same_pool = [&pool](const auto& entry) { return entry.first == &pool; };
  auto found = std::find_if(reads.by_pool.begin(), reads.by_pool.end(), same_pool);
  if (found == reads.by_pool.end()) {
    reads.by_pool.emplace_back(&pool, std::vector<ThreadReads::Read>());
    found = std::prev(reads.by_pool.end());
  }
  found->second.push_back({std::move(commands), std::move(done)});
  DeferredWork::Defer(reads);
}

void RedisEngine::FlushReads(ThreadReads& reads) {
  // Taken whole first: answering a read may send another (a redirection), deferred anew.
  std::vector<std::pair<internal::RedisPool*, std::vector<ThreadReads::Read>>> flushing;
  flushing.swap(reads.by_pool);
  std::vector<std::vector<absl::string_view>> commands;
  for (auto& [pool, batch] : flushing) {
    commands.clear();
    for (const ThreadReads::Read& read : batch) {
      commands.insert(commands.end(), read.commands.begin(), read.commands.end());
    }
    absl::StatusOr<std::vector<internal::RedisReply>> replies =
        pool->caller_links().Run(DeferredWork::ThisThreadIndex(), commands);
    size_t next = 0;
    for (ThreadReads::Read& read : batch) {
      if (!replies.ok()) {  // The link could not: the pipe sends them again (reads only).
        pool->pipe().Send(read.commands, std::move(read.done));
        continue;
      }
      std::vector<internal::RedisReply> own;
      for (size_t i = 0; i < read.commands.size(); ++i)
        own.push_back(std::move((*replies)[next++]));
      std::move(read.done)(std::move(own));
    }
  }
}

void RedisEngine::OnGetReply(std::shared_ptr<AsyncGet> get, internal::RedisPool& pool,
                             absl::StatusOr<std::vector<internal::RedisReply>> replies) {
  if (!replies.ok()) {
    if (router_->cluster()) router_->RefreshSoon();
    std::move(get->done)(replies.status());
    return;
  }
  const redisReply& reply = *replies->back();
  if (internal::IsWrongType(reply)) {  // A layout 1 entry: GetEntry converts it.
    return ReadOnRouter(std::move(get), absl::UnavailableError(kRouterBusy));
  }
  if (reply.type == REDIS_REPLY_ERROR) {
    const std::optional<internal::Redirect> redirect =
        internal::ParseRedirect(absl::string_view(reply.str, reply.len), pool.endpoint().host);
    if (redirect.has_value() && ++get->redirects <= kMaxRedirects) {
      const bool ask = redirect->kind == internal::Redirect::Kind::kAsk;
      internal::RedisPool* to =
          ask ? router_->PoolFor(redirect->to) : router_->NoteMoved(redirect->slot, redirect->to);
      if (!ask) router_->RefreshSoon();
      if (to != nullptr) return SendGet(std::move(get), *to, ask);
    }
    if (router_->cluster()) router_->RefreshSoon();
    std::move(get->done)(internal::ErrorReplyStatus(reply));
    return;
  }
  absl::StatusOr<std::optional<StoredEntry>> entry = internal::DecodeEntryReply(reply);
  if (!entry.ok() || !entry->has_value() || (*entry)->expires_at > clock_.Now()) {
    std::move(get->done)(std::move(entry));
    return;
  }
  // Too many waiting: the miss is still right; a later call reclaims the entry.
  ReadOnRouter(std::move(get), /*busy=*/std::optional<StoredEntry>());
}

void RedisEngine::ReadOnRouter(std::shared_ptr<AsyncGet> get,
                               absl::StatusOr<std::optional<StoredEntry>> busy) {
  const bool posted =
      router_->Post([this, get] { std::move(get->done)(GetEntry(get->bucket, get->entry_key)); });
  if (!posted) std::move(get->done)(std::move(busy));
}

}  // namespace larder::storage

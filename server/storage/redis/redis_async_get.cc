// RedisEngine::GetAsync: a Get that larderd serves without a storage thread per call, many
// concurrent Gets sharing one write and one read. On a serving thread (DeferredWork: larderd's
// completion-queue threads) the Gets (and MultiGets) of a burst of calls go out together once it
// ends, one batch per master on that thread's own link, the plain GETs of a slot as one MGET
// (redis_burst_reads.cc). Elsewhere a Get is sent on the pipe of its key's master and answered from
// the pipe's I/O thread. Redirections are followed on the pipe (MOVED updates the slot's master at
// once and asks the router to rediscover the rest); what would block (reclaiming an expired entry,
// converting a layout 1 entry, rediscovery) runs on the router's thread.
#include <hiredis/hiredis.h>

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
  get->entry_key = bucket.EntryKey(key);
  get->bucket = std::move(bucket);
  get->done = std::move(done);
  SendGet(std::move(get), *pool, /*asking=*/false);
  return true;
}

void RedisEngine::SendGet(std::shared_ptr<AsyncGet> get, internal::RedisPool& pool, bool asking) {
  std::vector<std::vector<absl::string_view>> commands;
  if (asking) commands.push_back({"ASKING"});
  commands.push_back({"GET", get->entry_key});
  // MGET answers nil for an entry still kept as a layout 1 hash, where GET says WRONGTYPE.
  const bool may_share = !asking && converted_layout();
  const int mget_slot = !may_share ? -1 : router_->cluster() ? get->bucket.slot : 0;
  internal::RedisPool* target = &pool;
  SendReads(
      pool, std::move(commands),
      [this, get, target](absl::StatusOr<std::vector<internal::RedisReply>> replies) mutable {
        OnGetReply(std::move(get), *target, std::move(replies));
      },
      mget_slot);
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

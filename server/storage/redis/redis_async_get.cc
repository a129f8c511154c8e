// RedisEngine::GetAsync: a Get sent on the pipe of its key's master and answered from the pipe's
// I/O thread, so that larderd serves Redis Gets without a storage thread per call and many
// concurrent Gets share one write and one read. Redirections are followed from the I/O thread
// (MOVED updates the slot's master at once and asks the router to rediscover the rest); what
// would block (reclaiming an expired entry, converting a layout 1 entry, rediscovery) runs on the
// router's thread.
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
  pool.pipe().Send(
      commands,
      [this, get, target](absl::StatusOr<std::vector<internal::RedisReply>> replies) mutable {
        OnGetReply(std::move(get), *target, std::move(replies));
      });
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

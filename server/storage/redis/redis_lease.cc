// RedisEngine's leases: Lease (one kLease script on the key's bucket, so granting, waiting and
// offering the stale value are atomic with the entry on every replica sharing the Redis), EndLease
// (one kEndLease script) and the voiding of a namespace's leases that opens every Invalidate. The
// record layout and the stale values are described in redis_scripts.h.
//
// A namespace's lease registry ("P leased:<ns>") names the buckets that have ever granted a lease,
// so that an Invalidate of a namespace that never used leases costs one SMEMBERS, not a write per
// bucket. A bucket joins it before its first grant (the script refuses to grant until its bucket
// is marked as registered), so an Invalidate that begins after a grant always voids it.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "server/storage/lease_table.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"

namespace larder::storage {
namespace {

using internal::RedisConnection;
using internal::RedisReply;

std::string MicrosText(absl::Time time) { return absl::StrCat(absl::ToUnixMicros(time)); }

}  // namespace

std::string RedisEngine::LeaseRegistryOf(absl::string_view ns) const {
  return absl::StrCat(options_.key_prefix, "leased:", ns);
}

absl::StatusOr<LeaseResult> RedisEngine::Lease(absl::string_view ns, absl::string_view key,
                                               absl::Duration lease_ttl) {
  const absl::Time now = clock_.Now();
  const int index = internal::Crc16(key) % kBuckets;
  const Bucket bucket = BucketAt(ns, index);
  const std::string entry_key = bucket.EntryKey(key);
  const std::string now_text = MicrosText(now), lease_end = MicrosText(now + lease_ttl);
  const std::string token = NewLeaseToken();
  // "1" once the bucket has joined the registry: the script then marks it so and grants.
  for (const char* registered : {"0", "1"}) {
    LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                            Eval(bucket, internal::Script::kLease, {entry_key},
                                 {now_text, bucket.base, token, lease_end, registered}));
    LARDER_ASSIGN_OR_RETURN(internal::LeaseScriptResult lease, internal::DecodeLeaseReply(*reply));
    if (!lease.unregistered) return std::move(lease.result);
    LARDER_RETURN_IF_ERROR(JoinLeaseRegistry(ns, index));
  }
  return absl::InternalError("redis: the lease script refused a registered bucket");
}

absl::StatusOr<bool> RedisEngine::EndLease(absl::string_view ns, absl::string_view key,
                                           absl::string_view token) {
  const Bucket bucket = BucketOf(ns, key);
  const std::string entry_key = bucket.EntryKey(key);
  const std::string now_text = MicrosText(clock_.Now());
  LARDER_ASSIGN_OR_RETURN(RedisReply reply, Eval(bucket, internal::Script::kEndLease, {entry_key},
                                                 {now_text, bucket.base, token}));
  LARDER_ASSIGN_OR_RETURN(int64_t ended, internal::DecodeCountReply(*reply));
  return ended == 1;
}

absl::Status RedisEngine::JoinLeaseRegistry(absl::string_view ns, int bucket) {
  const std::string registry = LeaseRegistryOf(ns), member = absl::StrCat(bucket);
  return router_
      ->Run(internal::KeySlot(registry),
            [&](RedisConnection& c) {
              return c.Run({"SADD", registry, member});
            })
      .status();
}

absl::Status RedisEngine::VoidLeases(absl::string_view ns) {
  const std::string registry = LeaseRegistryOf(ns);
  LARDER_ASSIGN_OR_RETURN(RedisReply reply,
                          router_->Run(internal::KeySlot(registry), [&](RedisConnection& c) {
                            return c.Run({"SMEMBERS", registry});
                          }));
  LARDER_ASSIGN_OR_RETURN(std::vector<int> buckets,
                          internal::DecodeBucketListReply(*reply, kBuckets));
  if (buckets.empty()) return absl::OkStatus();
  // Random, never a successor: a bucket's counters may be lost and start again, and a recycled
  // generation would make the leases it voided current again.
  const std::string generation = NewLeaseToken();
  std::vector<std::string> counters;
  std::vector<uint16_t> slots;
  for (int index : buckets) {
    const Bucket bucket = BucketAt(ns, index);
    counters.push_back(absl::StrCat(bucket.base, "c"));
    slots.push_back(bucket.slot);
  }
  std::vector<std::vector<absl::string_view>> commands;
  for (const std::string& key : counters) commands.push_back({"HSET", key, "g", generation});
  return RunEach(slots, commands).status();
}

}  // namespace larder::storage

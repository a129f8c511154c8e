// What the Redis engine reads out of each reply Redis sends it: pure functions from a hiredis
// reply tree to larder values, with no connection and no side effect, so they can be unit-tested
// on replies built by hiredis's own reader and fuzzed (tests/fuzz/redis_reply_fuzz.cc). Internal
// to server/storage/redis; the engine keeps what needs a connection (reclaiming an expired entry
// it has just decoded, for one).
//
//   absl::StatusOr<RedisReply> reply = connection.Run({"HMGET", entry_key, "v", "e", "x"});
//   absl::StatusOr<std::optional<StoredEntry>> entry = DecodeEntryReply(**reply);
//
// Every decoder accepts exactly the replies its command or script sends and returns exactly what
// they carry. An error reply becomes ErrorReplyStatus (kUnavailable or kInternal); a reply of
// another shape is kInternal ("redis: malformed reply to ..."); an entry or counter larder cannot
// have written (no ETag, an expiry or count that is not a decimal number) is kDataLoss.
// Cost: O(size of the reply). Thread-safe (they only read the reply).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/storage_engine.h"

struct redisReply;

namespace larder::storage::internal {

// How far a kRemoveAll / kRemoveTagged call went.
struct RemovalProgress {
  int64_t removed = 0;    // Live entries it removed.
  int64_t remaining = 0;  // Members left in the index or tag set.
};

// What the kSet script did.
struct SetScriptResult {
  SetResult result;
  // The bucket's namespace is not known to be in "P namespaces" yet: the caller adds it.
  bool unregistered = false;
};

// What the kLease script answered.
struct LeaseScriptResult {
  LeaseResult result;
  // The bucket is not known to be in the namespace's lease registry: nothing was granted; the
  // caller adds it there and runs the script again.
  bool unregistered = false;
};

// An entry's string (layout 2, redis_scripts.h): its value, ETag and expires_at; kDataLoss when
// it is not one. O(its length). Expiry is not judged here: the caller compares it with its clock.
absl::StatusOr<StoredEntry> DecodeEntryString(absl::string_view entry);

// The reply to GET <entry> (or one element of MGET's): std::nullopt for nil, else the entry
// (DecodeEntryString).
absl::StatusOr<std::optional<StoredEntry>> DecodeEntryReply(const redisReply& reply);

// The reply says WRONGTYPE: a GET met an entry still kept as a layout 1 hash (Script::kConvert).
bool IsWrongType(const redisReply& reply);

// The reply to SCAN / SSCAN: [cursor, [member...]]. Returns the members and sets `cursor` to the
// next cursor (decimal; "0" when the iteration is complete). On error `cursor` is unchanged.
absl::StatusOr<std::vector<std::string>> DecodeScanPage(const redisReply& reply,
                                                        std::string& cursor);

// The kSet script's reply {stored (0 or 1), etag, unregistered (0 or 1)}: the stored ETag, or
// when not stored the current live entry's ETag ("" when there is none).
absl::StatusOr<SetScriptResult> DecodeSetReply(const redisReply& reply);

// The kDelete script's reply: 1 (a live entry removed), 0 (an expired one), -1 (none). True
// only for 1.
absl::StatusOr<bool> DecodeDeleteReply(const redisReply& reply);

// The kTouch script's reply: the entry's ETag, or nil when there was no live entry.
absl::StatusOr<std::optional<std::string>> DecodeTouchReply(const redisReply& reply);

// A count, never negative: the kRemoveMembers script's integer.
absl::StatusOr<int64_t> DecodeCountReply(const redisReply& reply);

// The reply to HMGET <bucket counters> n b x: entries, bytes and expirations (each a decimal
// string, nil for zero; negative values are kept: the caller clamps sums). Evictions stay 0.
absl::StatusOr<EngineStats> DecodeCountersReply(const redisReply& reply);

// The kLease script's reply: {1, value, etag, expiry} (a live entry), {2, token} (a new lease),
// {3} or {3, value, etag, stale until} (wait, with the stale value and when it stops being
// kept: unix micros), or {4} (unregistered).
absl::StatusOr<LeaseScriptResult> DecodeLeaseReply(const redisReply& reply);

// The reply to SMEMBERS of a lease registry: bucket numbers, each decimal in [0, buckets).
absl::StatusOr<std::vector<int>> DecodeBucketListReply(const redisReply& reply, int buckets);

// The reply to ROLE: true for ["master", offset, replicas], false for a replica or a sentinel.
absl::StatusOr<bool> DecodeRoleReplyIsMaster(const redisReply& reply);

// The kRemoveAll / kRemoveTagged scripts' reply {removed, remaining}, both non-negative.
absl::StatusOr<RemovalProgress> DecodeRemovalProgressReply(const redisReply& reply);

}  // namespace larder::storage::internal

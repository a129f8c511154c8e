// The Redis engine's change messages: what every write publishes on the channel
// "<key prefix>changes" (inside the Lua script that applies it, see redis_scripts.h), and what a
// subscribed connection receives. Pure functions, so they can be unit-tested and fuzzed
// (tests/fuzz/redis_reply_fuzz.cc): every byte that comes from Redis is untrusted. Internal to
// server/storage/redis.
//
//   std::string message = EncodeChangeMessage("users", ChangeKind::kKey, "42");
//   // "users\0k42": <namespace> NUL <kind byte> <subject>
//   absl::StatusOr<ChangeMessage> change = DecodeChangeMessage(message);   // users, kKey, "42"
//
// Format: a namespace ([A-Za-z0-9_.-]{1,128}, so never NUL), one NUL, one kind byte (k key,
// a all, p prefix, g pattern, t tag) and the subject, arbitrary bytes up to limits::kMaxKeyBytes:
// the key (never empty), the prefix, glob or tag, nothing for "all". The format has no version:
// a change of it must change the channel name too. A message that starts with NUL (an empty
// namespace) is never a change: NUL 'h' <token> is a probe (RedisChangeFeed). Cost of each
// function: O(message size).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/change_listener.h"

struct redisReply;

namespace larder::storage::internal {

// The channel is the key prefix followed by this.
inline constexpr absl::string_view kChangesChannelSuffix = "changes";
// The kind byte of a key change, which the Lua scripts write themselves.
inline constexpr char kKeyChangeByte = 'k';

// One decoded change; views into the message it was decoded from.
struct ChangeMessage {
  absl::string_view ns;
  ChangeKind kind = ChangeKind::kKey;
  absl::string_view subject;
};

// The message announcing a change of `kind` to `subject` in `ns`.
std::string EncodeChangeMessage(absl::string_view ns, ChangeKind kind, absl::string_view subject);

// The change `message` announces. kInvalidArgument (saying what is wrong, never echoing the
// message) for anything EncodeChangeMessage cannot have written from a valid namespace: no NUL,
// a namespace that is empty, too long or has a byte outside [A-Za-z0-9_.-], an unknown kind
// byte, an empty key, a subject for "all", or a subject longer than limits::kMaxKeyBytes.
absl::StatusOr<ChangeMessage> DecodeChangeMessage(absl::string_view message);

// The longest token of a probe.
inline constexpr size_t kMaxProbeTokenBytes = 64;

// A probe: published by a larderd, through some master, to check that its subscription still
// hears the whole cluster. Every larderd receives every probe, and ignores the others'.
// `token`: 1 to kMaxProbeTokenBytes bytes.
std::string EncodeProbeMessage(absl::string_view token);
// The token of probe `message`; std::nullopt when it is none (then it may be a change).
std::optional<absl::string_view> ProbeTokenOf(absl::string_view message);

// What a connection subscribed to one channel receives (RESP2 pub/sub replies).
struct FeedReply {
  enum class Type {
    kMessage,     // ["message", <channel>, <payload>]
    kSubscribed,  // ["subscribe", <channel>, <count>]: the subscription is confirmed
    kPong,        // ["pong", <argument>]: the answer to PING while subscribed
  };
  Type type = Type::kMessage;
  absl::string_view payload;  // kMessage's payload (a view into the reply).
};

// Classifies a reply on a connection subscribed to `channel`. An error reply is
// ErrorReplyStatus; anything else but the three shapes above with bulk strings (a message or
// confirmation of another channel, a count below 1, a pong of another shape) is kInternal
// ("redis: malformed ..."): the connection is not following what it should.
absl::StatusOr<FeedReply> DecodeFeedReply(const redisReply& reply, absl::string_view channel);

}  // namespace larder::storage::internal

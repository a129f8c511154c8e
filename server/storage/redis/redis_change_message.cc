// The change messages of the Redis engine (redis_change_message.h): encoding, and the decoders
// of what a subscribed connection receives. Each decoder accepts exactly what Redis and larder's
// scripts send and refuses anything else.
#include "server/storage/redis/redis_change_message.h"

#include <hiredis/hiredis.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "larder/common/limits.h"
#include "server/storage/redis/redis_connection.h"

namespace larder::storage::internal {
namespace {

// The kind bytes, indexed by ChangeKind.
constexpr char kKindBytes[] = {kKeyChangeByte, 'a', 'p', 'g', 't'};
static_assert(static_cast<int>(ChangeKind::kTag) + 1 == sizeof(kKindBytes));

std::optional<ChangeKind> KindOfByte(char byte) {
  for (size_t i = 0; i < sizeof(kKindBytes); ++i) {
    if (kKindBytes[i] == byte) return static_cast<ChangeKind>(i);
  }
  return std::nullopt;
}

bool IsNamespaceByte(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-'; }

absl::Status Refused(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("redis: malformed change message: ", why));
}

bool IsBulk(const redisReply& reply) { return reply.type == REDIS_REPLY_STRING; }
absl::string_view BulkOf(const redisReply& reply) { return {reply.str, reply.len}; }

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("redis: malformed ", what, " on a subscribed connection"));
}

}  // namespace

std::string EncodeChangeMessage(absl::string_view ns, ChangeKind kind, absl::string_view subject) {
  std::string message;
  message.reserve(ns.size() + 2 + subject.size());
  absl::StrAppend(&message, ns, absl::string_view("\0", 1),
                  absl::string_view(&kKindBytes[static_cast<int>(kind)], 1), subject);
  return message;
}

absl::StatusOr<ChangeMessage> DecodeChangeMessage(absl::string_view message) {
  const size_t nul = message.find('\0');
  if (nul == absl::string_view::npos || nul + 1 >= message.size()) {
    return Refused("no namespace and kind");
  }
  ChangeMessage change;
  change.ns = message.substr(0, nul);
  if (change.ns.empty() || change.ns.size() > limits::kMaxNamespaceBytes) {
    return Refused("a namespace of a wrong size");
  }
  for (char c : change.ns) {
    if (!IsNamespaceByte(c)) return Refused("a namespace with a byte outside [A-Za-z0-9_.-]");
  }
  const std::optional<ChangeKind> kind = KindOfByte(message[nul + 1]);
  if (!kind.has_value()) return Refused("an unknown kind");
  change.kind = *kind;
  change.subject = message.substr(nul + 2);
  if (change.subject.size() > limits::kMaxKeyBytes) return Refused("a subject too long");
  if (change.kind == ChangeKind::kKey && change.subject.empty()) return Refused("an empty key");
  if (change.kind == ChangeKind::kAll && !change.subject.empty()) {
    return Refused("a subject for \"all\"");
  }
  return change;
}

std::string EncodeProbeMessage(absl::string_view token) {
  return absl::StrCat(absl::string_view("\0h", 2), token);
}

std::optional<absl::string_view> ProbeTokenOf(absl::string_view message) {
  if (message.size() < 3 || message.size() > 2 + kMaxProbeTokenBytes ||
      message.substr(0, 2) != absl::string_view("\0h", 2)) {
    return std::nullopt;
  }
  return message.substr(2);
}

absl::StatusOr<FeedReply> DecodeFeedReply(const redisReply& reply, absl::string_view channel) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2 || !IsBulk(*reply.element[0])) {
    return Malformed("reply");
  }
  const absl::string_view type = BulkOf(*reply.element[0]);
  const redisReply& second = *reply.element[1];
  if (type == "pong" && reply.elements == 2 && IsBulk(second)) {
    return FeedReply{FeedReply::Type::kPong, {}};
  }
  if (reply.elements != 3 || !IsBulk(second)) return Malformed("reply");
  if (BulkOf(second) != channel) return Malformed("reply (another channel)");
  const redisReply& third = *reply.element[2];
  if (type == "message" && IsBulk(third)) {
    return FeedReply{FeedReply::Type::kMessage, BulkOf(third)};
  }
  if (type == "subscribe" && third.type == REDIS_REPLY_INTEGER && third.integer >= 1) {
    return FeedReply{FeedReply::Type::kSubscribed, {}};
  }
  return Malformed("reply");
}

}  // namespace larder::storage::internal

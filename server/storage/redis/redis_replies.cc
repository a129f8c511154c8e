// The Redis engine's reply decoders (redis_replies.h): hiredis reply trees to larder values.
#include "server/storage/redis/redis_replies.h"

#include <hiredis/hiredis.h>

#include "absl/strings/numbers.h"
#include "server/storage/redis/redis_connection.h"

namespace larder::storage::internal {

absl::StatusOr<std::optional<StoredEntry>> DecodeEntryReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  const redisReply& value = ElementOf(reply, 0);
  if (IsNil(value)) return std::nullopt;
  const absl::string_view expiry = StringOf(ElementOf(reply, 2));
  StoredEntry entry{std::string(StringOf(value)), std::string(StringOf(ElementOf(reply, 1))),
                    absl::InfiniteFuture()};
  int64_t micros = 0;
  if (!expiry.empty() && absl::SimpleAtoi(expiry, &micros)) {
    entry.expires_at = absl::FromUnixMicros(micros);
  }
  return entry;
}

absl::StatusOr<std::vector<std::string>> DecodeScanPage(const redisReply& reply,
                                                        std::string& cursor) {
  cursor = std::string(StringOf(ElementOf(reply, 0)));
  if (cursor.empty()) return absl::InternalError("redis: malformed SCAN reply");
  const redisReply& page = ElementOf(reply, 1);
  std::vector<std::string> members;
  members.reserve(ArraySize(page));
  for (size_t i = 0; i < ArraySize(page); ++i) members.emplace_back(StringOf(ElementOf(page, i)));
  return members;
}

absl::StatusOr<SetResult> DecodeSetReply(const redisReply& reply) {
  return SetResult{IntegerOf(ElementOf(reply, 0)) == 1, std::string(StringOf(ElementOf(reply, 1)))};
}

absl::StatusOr<bool> DecodeDeleteReply(const redisReply& reply) { return IntegerOf(reply) == 1; }

absl::StatusOr<std::optional<std::string>> DecodeTouchReply(const redisReply& reply) {
  if (IsNil(reply)) return std::nullopt;
  return std::string(StringOf(reply));
}

absl::StatusOr<int64_t> DecodeCountReply(const redisReply& reply) { return IntegerOf(reply); }

absl::StatusOr<StatsBatchCounts> DecodeStatsBatchReply(const redisReply& reply) {
  return StatsBatchCounts{IntegerOf(ElementOf(reply, 0)), IntegerOf(ElementOf(reply, 1))};
}

}  // namespace larder::storage::internal

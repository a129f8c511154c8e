// The Redis engine's reply decoders (redis_replies.h): hiredis reply trees to larder values.
// Each accepts exactly the shapes its command or script sends and refuses anything else, so no
// value is ever made up from a reply of the wrong shape.
#include "server/storage/redis/redis_replies.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_scripts.h"

namespace larder::storage::internal {
namespace {

bool IsBulk(const redisReply& reply) { return reply.type == REDIS_REPLY_STRING; }
bool IsArrayOf(const redisReply& reply, size_t size) {
  return reply.type == REDIS_REPLY_ARRAY && reply.elements == size;
}
absl::string_view BulkOf(const redisReply& reply) { return {reply.str, reply.len}; }
bool IsZeroOrOne(const redisReply& reply) {
  return reply.type == REDIS_REPLY_INTEGER && (reply.integer == 0 || reply.integer == 1);
}

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("redis: malformed reply to ", what));
}

// `-?[0-9]+` within int64, as larder writes numbers (absl::StrCat); nothing else.
std::optional<int64_t> ParseDecimal(absl::string_view text) {
  const absl::string_view digits = text.substr(!text.empty() && text[0] == '-' ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != absl::string_view::npos) {
    return std::nullopt;
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;  // Out of range.
  return value;
}

// The expiry field: "" for never, else unix micros.
absl::StatusOr<absl::Time> ExpiryOf(const redisReply& field) {
  if (!IsBulk(field)) return absl::DataLossError("redis: an entry without an expiry field");
  if (field.len == 0) return absl::InfiniteFuture();
  const std::optional<int64_t> micros = ParseDecimal(BulkOf(field));
  if (!micros.has_value()) return absl::DataLossError("redis: an entry's expiry is not a number");
  return absl::FromUnixMicros(*micros);
}

// An entry string's expiry: kEntryNeverExpires, or kEntryExpiryWidth digits of unix micros.
absl::StatusOr<absl::Time> FixedExpiryOf(absl::string_view field) {
  if (field == kEntryNeverExpires) return absl::InfiniteFuture();
  const std::optional<int64_t> micros = ParseDecimal(field);
  if (!micros.has_value() || field[0] == '-') {
    return absl::DataLossError("redis: an entry's expiry is not a number");
  }
  return absl::FromUnixMicros(*micros);
}

// The decimal "<digits>;" at `at` (at most 18 digits; none when `may_be_empty`, which reads as
// 0), moving `at` past the ';'.
std::optional<size_t> NumberAt(absl::string_view text, size_t& at, bool may_be_empty = false) {
  const size_t end = text.find(';', at);
  if (end == absl::string_view::npos || (end == at && !may_be_empty) || end - at > 18) {
    return std::nullopt;
  }
  size_t number = 0;
  for (size_t i = at; i < end; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    number = number * 10 + static_cast<size_t>(text[i] - '0');
  }
  at = end + 1;
  return number;
}

// {value, etag, time} at `first` of a kLease reply, `time` as an expiry field.
absl::StatusOr<StoredEntry> LeaseEntryAt(const redisReply& reply, size_t first) {
  for (size_t i = first; i < first + 3; ++i) {
    if (!IsBulk(*reply.element[i])) return Malformed("the lease script");
  }
  absl::StatusOr<absl::Time> time = ExpiryOf(*reply.element[first + 2]);
  if (!time.ok()) return time.status();
  return StoredEntry{std::string(BulkOf(*reply.element[first])),
                     std::string(BulkOf(*reply.element[first + 1])), *time};
}

}  // namespace

absl::StatusOr<StoredEntry> DecodeEntryString(absl::string_view entry) {
  constexpr size_t kFixed = 1 + kEntryExpiryWidth;  // The layout byte, the expiry.
  if (entry.size() < kFixed || entry[0] != kEntryLayout) {
    return absl::DataLossError("redis: an entry not in layout 2");
  }
  absl::StatusOr<absl::Time> expires_at = FixedExpiryOf(entry.substr(1, kEntryExpiryWidth));
  if (!expires_at.ok()) return expires_at.status();
  size_t at = kFixed;
  std::optional<size_t> etag_length, tags_length;
  if (NumberAt(entry, at, /*may_be_empty=*/true).has_value()) {  // The grace: a read skips it.
    etag_length = NumberAt(entry, at);
    if (etag_length.has_value()) tags_length = NumberAt(entry, at);
  }
  if (!tags_length.has_value() || entry.size() - at < *etag_length + *tags_length) {
    return absl::DataLossError("redis: a corrupt entry header");
  }
  return StoredEntry{std::string(entry.substr(at + *etag_length + *tags_length)),
                     std::string(entry.substr(at, *etag_length)), *expires_at};
}

absl::StatusOr<std::optional<StoredEntry>> DecodeEntryReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (IsNil(reply)) return std::nullopt;
  if (!IsBulk(reply)) return Malformed("GET of an entry");
  return DecodeEntryString(BulkOf(reply));
}

bool IsWrongType(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR &&
         absl::StartsWith(absl::string_view(reply.str, reply.len), "WRONGTYPE");
}

absl::StatusOr<std::vector<std::string>> DecodeScanPage(const redisReply& reply,
                                                        std::string& cursor) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (!IsArrayOf(reply, 2) || !IsBulk(*reply.element[0]) || reply.element[0]->len == 0 ||
      BulkOf(*reply.element[0]).find_first_not_of("0123456789") != absl::string_view::npos ||
      reply.element[1]->type != REDIS_REPLY_ARRAY) {
    return Malformed("SCAN");
  }
  const redisReply& page = *reply.element[1];
  std::vector<std::string> members;
  members.reserve(page.elements);
  for (size_t i = 0; i < page.elements; ++i) {
    if (!IsBulk(*page.element[i])) return Malformed("SCAN");
    members.emplace_back(BulkOf(*page.element[i]));
  }
  cursor = std::string(BulkOf(*reply.element[0]));
  return members;
}

absl::StatusOr<SetScriptResult> DecodeSetReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (!IsArrayOf(reply, 3) || !IsZeroOrOne(*reply.element[0]) || !IsBulk(*reply.element[1]) ||
      !IsZeroOrOne(*reply.element[2])) {
    return Malformed("the set script");
  }
  return SetScriptResult{
      SetResult{reply.element[0]->integer == 1, std::string(BulkOf(*reply.element[1]))},
      reply.element[2]->integer == 1};
}

absl::StatusOr<bool> DecodeDeleteReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_INTEGER || reply.integer < -1 || reply.integer > 1) {
    return Malformed("the delete script");
  }
  return reply.integer == 1;
}

absl::StatusOr<std::optional<std::string>> DecodeTouchReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (IsNil(reply)) return std::nullopt;
  if (!IsBulk(reply)) return Malformed("the touch script");
  return std::string(BulkOf(reply));
}

absl::StatusOr<int64_t> DecodeCountReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_INTEGER || reply.integer < 0) return Malformed("a count");
  return reply.integer;
}

absl::StatusOr<EngineStats> DecodeCountersReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (!IsArrayOf(reply, 3)) return Malformed("HMGET of counters");
  int64_t counts[3] = {0, 0, 0};
  for (size_t i = 0; i < 3; ++i) {
    const redisReply& field = *reply.element[i];
    if (IsNil(field)) continue;
    if (!IsBulk(field)) return Malformed("HMGET of counters");
    const std::optional<int64_t> count = ParseDecimal(BulkOf(field));
    if (!count.has_value()) return absl::DataLossError("redis: a corrupt counter");
    counts[i] = *count;
  }
  EngineStats stats;
  stats.entries = counts[0];
  stats.bytes = counts[1];
  stats.expirations = counts[2];
  return stats;
}

absl::StatusOr<LeaseScriptResult> DecodeLeaseReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0 ||
      reply.element[0]->type != REDIS_REPLY_INTEGER) {
    return Malformed("the lease script");
  }
  const long long kind = reply.element[0]->integer;
  LeaseScriptResult lease;
  if (kind == 1 && reply.elements == 4) {
    absl::StatusOr<StoredEntry> entry = LeaseEntryAt(reply, 1);
    if (!entry.ok()) return entry.status();
    lease.result.entry = *std::move(entry);
  } else if (kind == 2 && reply.elements == 2 && IsBulk(*reply.element[1]) &&
             reply.element[1]->len > 0) {
    lease.result.token = std::string(BulkOf(*reply.element[1]));
  } else if (kind == 3 && (reply.elements == 1 || reply.elements == 4)) {
    lease.result.wait = true;
    if (reply.elements == 1) return lease;
    absl::StatusOr<StoredEntry> stale = LeaseEntryAt(reply, 1);
    if (!stale.ok()) return stale.status();
    lease.result.stale = *std::move(stale);
  } else if (kind == 4 && reply.elements == 1) {
    lease.unregistered = true;
  } else {
    return Malformed("the lease script");
  }
  return lease;
}

absl::StatusOr<std::vector<int>> DecodeBucketListReply(const redisReply& reply, int buckets) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY) return Malformed("SMEMBERS of a lease registry");
  std::vector<int> list;
  list.reserve(reply.elements);
  for (size_t i = 0; i < reply.elements; ++i) {
    if (!IsBulk(*reply.element[i])) return Malformed("SMEMBERS of a lease registry");
    const std::optional<int64_t> bucket = ParseDecimal(BulkOf(*reply.element[i]));
    if (!bucket.has_value() || *bucket < 0 || *bucket >= buckets) {
      return absl::DataLossError("redis: a lease registry names no bucket");
    }
    list.push_back(static_cast<int>(*bucket));
  }
  return list;
}

absl::StatusOr<bool> DecodeRoleReplyIsMaster(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0 || !IsBulk(*reply.element[0])) {
    return Malformed("ROLE");
  }
  return BulkOf(*reply.element[0]) == "master";
}

absl::StatusOr<RemovalProgress> DecodeRemovalProgressReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (!IsArrayOf(reply, 2) || reply.element[0]->type != REDIS_REPLY_INTEGER ||
      reply.element[1]->type != REDIS_REPLY_INTEGER || reply.element[0]->integer < 0 ||
      reply.element[1]->integer < 0) {
    return Malformed("a removal script");
  }
  return RemovalProgress{reply.element[0]->integer, reply.element[1]->integer};
}

}  // namespace larder::storage::internal

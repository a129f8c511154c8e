// libFuzzer target for how the Redis engine reads what Redis sends: hiredis's own RESP reader
// (redisReaderCreate / redisReaderFeed / redisReaderGetReply) turns the input into reply trees,
// and each tree goes to every decoder of server/storage/redis/redis_replies.h, every accessor
// of server/storage/redis/redis_connection.h and the pub/sub decoders of
// server/storage/redis/redis_change_message.h; every bulk string of a tree, and the whole input
// itself, also goes to DecodeChangeMessage (a change message's payload) and DecodeEntryString
// (an entry's string).
//
// Each decoder is held to a reference written here from the shapes Redis and larder's scripts
// send (redis_scripts.cc): it must accept exactly the well-formed replies, and then return
// exactly the bytes and numbers they carry; anything else is a clean error (an error reply is
// its ErrorReplyStatus; otherwise kInternal or kDataLoss), never a value made up from a reply of
// the wrong shape. Aborts when:
//  - IsNil, StringOf, IntegerOf, ArraySize or ElementOf disagree with the reply's fields (a
//    wrong type reads as absent: nil, "", 0, no elements);
//  - ErrorReplyStatus is not kUnavailable for Redis's transient errors and kInternal otherwise,
//    or its message is not "redis: " + the error text;
//  - a decoder accepts a malformed reply, refuses a well-formed one, or decodes other values;
//  - DecodeChangeMessage accepts a message EncodeChangeMessage cannot have written, refuses one
//    it can, decodes other fields than the message's, or refuses other than kInvalidArgument;
//    ProbeTokenOf takes a message for a probe that is none, or the other way round.
//
//   build-fuzz/tests/fuzz/redis_reply_fuzz tests/fuzz/corpus/redis_reply_fuzz \
//       -dict=tests/fuzz/redis_reply_fuzz.dict
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "server/storage/redis/redis_change_message.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_replies.h"

namespace {

namespace redis = larder::storage::internal;
using larder::storage::ChangeKind;
using larder::storage::StoredEntry;

void Fail(const char* what) {
  std::fprintf(stderr, "redis_reply_fuzz: %s\n", what);
  std::abort();
}

absl::string_view Text(const redisReply& reply) { return absl::string_view(reply.str, reply.len); }
bool IsArray(const redisReply& reply, size_t size) {
  return reply.type == REDIS_REPLY_ARRAY && reply.elements == size;
}
bool IsBulk(const redisReply& reply) { return reply.type == REDIS_REPLY_STRING; }
bool IsInteger(const redisReply& reply) { return reply.type == REDIS_REPLY_INTEGER; }

// `-?[0-9]+` within int64: what larder writes for expiries and counters (absl::StrCat).
std::optional<int64_t> ReferenceDecimal(absl::string_view text) {
  const bool negative = absl::ConsumePrefix(&text, "-");
  if (text.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  const uint64_t limit = uint64_t{std::numeric_limits<int64_t>::max()} + (negative ? 1 : 0);
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  if (!negative) return static_cast<int64_t>(magnitude);
  return magnitude == 0 ? 0 : -static_cast<int64_t>(magnitude - 1) - 1;
}

void CheckAccessors(const redisReply& reply) {
  if (redis::IsNil(reply) != (reply.type == REDIS_REPLY_NIL)) Fail("IsNil disagrees");
  const bool stringy = reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS;
  if (redis::StringOf(reply) != (stringy ? Text(reply) : "")) Fail("StringOf disagrees");
  if (IsInteger(reply) && redis::IntegerOf(reply) != reply.integer) Fail("IntegerOf disagrees");
  if (!IsInteger(reply) && !IsBulk(reply) && redis::IntegerOf(reply) != 0) {
    Fail("IntegerOf of a non-number is not 0");
  }
  const size_t size = reply.type == REDIS_REPLY_ARRAY ? reply.elements : 0;
  if (redis::ArraySize(reply) != size) Fail("ArraySize disagrees");
  for (size_t i = 0; i < size; ++i) {
    if (&redis::ElementOf(reply, i) != reply.element[i]) Fail("ElementOf is not the element");
  }
  if (!redis::IsNil(redis::ElementOf(reply, size))) Fail("ElementOf past the end is not nil");
}

bool IsTransient(absl::string_view message) {
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(message, transient)) return true;
  }
  return false;
}

void CheckErrorReplyStatus(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ERROR) return;
  const absl::Status status = redis::ErrorReplyStatus(reply);
  const absl::StatusCode want =
      IsTransient(Text(reply)) ? absl::StatusCode::kUnavailable : absl::StatusCode::kInternal;
  if (status.code() != want) Fail("ErrorReplyStatus gives the wrong code");
  if (status.message() != absl::StrCat("redis: ", Text(reply))) {
    Fail("ErrorReplyStatus does not carry the error text");
  }
}

// Common to every decoder: an error reply is ErrorReplyStatus; a refusal is a clean code. Returns
// true when the decoder's result is a value the caller must compare with the reference.
template <typename T>
bool CheckOutcome(const redisReply& reply, const absl::StatusOr<T>& decoded, bool well_formed,
                  const char* decoder) {
  if (reply.type == REDIS_REPLY_ERROR) {
    if (decoded.status() != redis::ErrorReplyStatus(reply)) {
      Fail(absl::StrCat(decoder, ": an error reply is not its ErrorReplyStatus").c_str());
    }
    return false;
  }
  if (decoded.ok() != well_formed) {
    Fail(absl::StrCat(decoder, decoded.ok() ? ": accepts a malformed reply"
                                            : ": refuses a well-formed reply")
             .c_str());
  }
  const absl::StatusCode code = decoded.status().code();
  if (!decoded.ok() && code != absl::StatusCode::kInternal && code != absl::StatusCode::kDataLoss) {
    Fail(absl::StrCat(decoder, ": refusal is neither kInternal nor kDataLoss").c_str());
  }
  return decoded.ok();
}

// An entry's string, layout 2 (redis_scripts.h): '2', an expiry of 16 characters (16 '-' for
// never, else 16 digits of unix micros), then "<grace>;<ETag length>;<tags length>;" (the grace
// is digits or nothing; each length 1-18 digits), the ETag and the tags of those lengths, the
// value (whatever is left).
struct ReferenceEntry {
  std::string value;
  std::string etag;
  absl::Time expires_at;
};

bool AllDigits(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<uint64_t> ReferenceLength(absl::string_view text) {
  if (text.empty() || text.size() > 18 || !AllDigits(text)) return std::nullopt;
  return static_cast<uint64_t>(*ReferenceDecimal(text));
}

std::optional<ReferenceEntry> ReferenceEntryOf(absl::string_view text) {
  if (text.size() < 17 || text[0] != '2') return std::nullopt;
  const absl::string_view expiry = text.substr(1, 16);
  ReferenceEntry entry;
  if (expiry == "----------------") {
    entry.expires_at = absl::InfiniteFuture();
  } else if (AllDigits(expiry)) {
    entry.expires_at = absl::FromUnixMicros(*ReferenceDecimal(expiry));
  } else {
    return std::nullopt;
  }
  const std::vector<absl::string_view> parts =
      absl::StrSplit(text.substr(17), absl::MaxSplits(';', 3));
  if (parts.size() != 4 || parts[0].size() > 18 || !AllDigits(parts[0])) return std::nullopt;
  const std::optional<uint64_t> etag_length = ReferenceLength(parts[1]);
  const std::optional<uint64_t> tags_length = ReferenceLength(parts[2]);
  if (!etag_length.has_value() || !tags_length.has_value() ||
      parts[3].size() < *etag_length + *tags_length) {
    return std::nullopt;
  }
  entry.etag = std::string(parts[3].substr(0, *etag_length));
  entry.value = std::string(parts[3].substr(*etag_length + *tags_length));
  return entry;
}

// An expiry as the lease script returns it: "" for never, else a decimal number of unix micros.
std::optional<absl::Time> ReferenceExpiry(const redisReply& expiry) {
  if (!IsBulk(expiry)) return std::nullopt;
  if (Text(expiry).empty()) return absl::InfiniteFuture();
  const std::optional<int64_t> micros = ReferenceDecimal(Text(expiry));
  if (!micros.has_value()) return std::nullopt;
  return absl::FromUnixMicros(*micros);
}

bool Matches(const StoredEntry& decoded, const ReferenceEntry& want) {
  return decoded.value == want.value && decoded.etag == want.etag &&
         decoded.expires_at == want.expires_at;
}

// The string of an entry alone, as the whole input or a bulk string of a reply.
void CheckEntryString(absl::string_view text) {
  const absl::StatusOr<StoredEntry> decoded = redis::DecodeEntryString(text);
  const std::optional<ReferenceEntry> want = ReferenceEntryOf(text);
  if (decoded.ok() != want.has_value()) {
    Fail(decoded.ok() ? "DecodeEntryString: accepts a malformed entry"
                      : "DecodeEntryString: refuses a well-formed entry");
  }
  if (!decoded.ok() && decoded.status().code() != absl::StatusCode::kDataLoss) {
    Fail("DecodeEntryString: refusal is not kDataLoss");
  }
  if (decoded.ok() && !Matches(*decoded, *want)) Fail("DecodeEntryString: other fields");
}

// GET of an entry (or an element of MGET's reply): nil is a miss, a bulk string the entry.
void CheckEntryReply(const redisReply& reply) {
  const absl::StatusOr<std::optional<StoredEntry>> decoded = redis::DecodeEntryReply(reply);
  const bool miss = reply.type == REDIS_REPLY_NIL;
  const std::optional<ReferenceEntry> entry =
      IsBulk(reply) ? ReferenceEntryOf(Text(reply)) : std::nullopt;
  if (redis::IsWrongType(reply) !=
      (reply.type == REDIS_REPLY_ERROR && absl::StartsWith(Text(reply), "WRONGTYPE"))) {
    Fail("IsWrongType disagrees");
  }
  if (!CheckOutcome(reply, decoded, miss || entry.has_value(), "DecodeEntryReply")) return;
  if (miss) {
    if (decoded->has_value()) Fail("DecodeEntryReply: a nil value is not a miss");
    return;
  }
  if (!decoded->has_value() || !Matches(**decoded, *entry)) {
    Fail("DecodeEntryReply: the entry is not the reply's string");
  }
}

void CheckScanPage(const redisReply& reply) {
  std::string cursor = "previous";
  const absl::StatusOr<std::vector<std::string>> decoded = redis::DecodeScanPage(reply, cursor);
  bool well_formed = IsArray(reply, 2) && IsBulk(*reply.element[0]) &&
                     !Text(*reply.element[0]).empty() &&
                     Text(*reply.element[0]).find_first_not_of("0123456789") == std::string::npos &&
                     reply.element[1]->type == REDIS_REPLY_ARRAY;
  for (size_t i = 0; well_formed && i < reply.element[1]->elements; ++i) {
    well_formed = IsBulk(*reply.element[1]->element[i]);
  }
  if (!CheckOutcome(reply, decoded, well_formed, "DecodeScanPage")) {
    if (cursor != "previous") Fail("DecodeScanPage: a refused page moves the cursor");
    return;
  }
  if (cursor != Text(*reply.element[0])) Fail("DecodeScanPage: the cursor is not the reply's");
  const redisReply& page = *reply.element[1];
  if (decoded->size() != page.elements) Fail("DecodeScanPage: members lost or added");
  for (size_t i = 0; i < page.elements; ++i) {
    if ((*decoded)[i] != Text(*page.element[i])) Fail("DecodeScanPage: a member changed");
  }
}

bool IsZeroOrOne(const redisReply& reply) {
  return IsInteger(reply) && (reply.integer == 0 || reply.integer == 1);
}

// The set script: {stored (0/1), etag (bulk), unregistered (0/1)}.
void CheckSetReply(const redisReply& reply) {
  const absl::StatusOr<redis::SetScriptResult> decoded = redis::DecodeSetReply(reply);
  const bool well_formed = IsArray(reply, 3) && IsZeroOrOne(*reply.element[0]) &&
                           IsBulk(*reply.element[1]) && IsZeroOrOne(*reply.element[2]);
  if (!CheckOutcome(reply, decoded, well_formed, "DecodeSetReply")) return;
  if (decoded->result.stored != (reply.element[0]->integer == 1) ||
      decoded->result.etag != Text(*reply.element[1]) ||
      decoded->unregistered != (reply.element[2]->integer == 1)) {
    Fail("DecodeSetReply: the result is not the reply's fields");
  }
}

void CheckDeleteAndTouchReplies(const redisReply& reply) {
  const absl::StatusOr<bool> deleted = redis::DecodeDeleteReply(reply);
  const bool delete_shaped = IsInteger(reply) && reply.integer >= -1 && reply.integer <= 1;
  if (CheckOutcome(reply, deleted, delete_shaped, "DecodeDeleteReply") &&
      *deleted != (reply.integer == 1)) {
    Fail("DecodeDeleteReply: true for other than 1");
  }
  const absl::StatusOr<std::optional<std::string>> etag = redis::DecodeTouchReply(reply);
  const bool touch_shaped = reply.type == REDIS_REPLY_NIL || IsBulk(reply);
  if (CheckOutcome(reply, etag, touch_shaped, "DecodeTouchReply") &&
      (etag->has_value() != IsBulk(reply) || (etag->has_value() && **etag != Text(reply)))) {
    Fail("DecodeTouchReply: the ETag is not the reply's");
  }
}

// HMGET of a bucket's counters: three fields, each nil (zero) or a decimal bulk string, which may
// be negative.
std::optional<std::vector<int64_t>> ReferenceCounters(const redisReply& reply) {
  if (!IsArray(reply, 3)) return std::nullopt;
  std::vector<int64_t> counts;
  for (size_t i = 0; i < 3; ++i) {
    const redisReply& field = *reply.element[i];
    std::optional<int64_t> count;
    if (field.type == REDIS_REPLY_NIL) count = 0;
    if (IsBulk(field)) count = ReferenceDecimal(Text(field));
    if (!count.has_value()) return std::nullopt;
    counts.push_back(*count);
  }
  return counts;
}

void CheckCountReplies(const redisReply& reply) {
  const absl::StatusOr<int64_t> count = redis::DecodeCountReply(reply);
  const bool count_shaped = IsInteger(reply) && reply.integer >= 0;
  if (CheckOutcome(reply, count, count_shaped, "DecodeCountReply") && *count != reply.integer) {
    Fail("DecodeCountReply: the count is not the reply's");
  }
  const absl::StatusOr<larder::storage::EngineStats> counters = redis::DecodeCountersReply(reply);
  const std::optional<std::vector<int64_t>> want = ReferenceCounters(reply);
  if (CheckOutcome(reply, counters, want.has_value(), "DecodeCountersReply") &&
      (counters->entries != (*want)[0] || counters->bytes != (*want)[1] ||
       counters->expirations != (*want)[2] || counters->evictions != 0)) {
    Fail("DecodeCountersReply: the counts are not the reply's");
  }
  const absl::StatusOr<redis::RemovalProgress> progress = redis::DecodeRemovalProgressReply(reply);
  const bool well_formed = IsArray(reply, 2) && IsInteger(*reply.element[0]) &&
                           IsInteger(*reply.element[1]) && reply.element[0]->integer >= 0 &&
                           reply.element[1]->integer >= 0;
  if (CheckOutcome(reply, progress, well_formed, "DecodeRemovalProgressReply") &&
      (progress->removed != reply.element[0]->integer ||
       progress->remaining != reply.element[1]->integer)) {
    Fail("DecodeRemovalProgressReply: the counts are not the reply's");
  }
}

// {value, etag, time} bulk strings at `first`, `time` an expiry field; nullopt otherwise.
std::optional<StoredEntry> ReferenceLeaseEntry(const redisReply& reply, size_t first) {
  if (!IsBulk(*reply.element[first]) || !IsBulk(*reply.element[first + 1])) return std::nullopt;
  const std::optional<absl::Time> time = ReferenceExpiry(*reply.element[first + 2]);
  if (!time.has_value()) return std::nullopt;
  return StoredEntry{std::string(Text(*reply.element[first])),
                     std::string(Text(*reply.element[first + 1])), *time};
}

bool SameEntry(const std::optional<StoredEntry>& a, const std::optional<StoredEntry>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a.has_value() ||
         (a->value == b->value && a->etag == b->etag && a->expires_at == b->expires_at);
}

// The kLease script: {1, value, etag, expiry}, {2, non-empty token}, {3} or {3, value, etag,
// until}, {4}. Returns nullopt for anything else; the kind and entry otherwise.
std::optional<std::pair<int, std::optional<StoredEntry>>> ReferenceLease(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0 || !IsInteger(*reply.element[0])) {
    return std::nullopt;
  }
  const long long kind = reply.element[0]->integer;
  const size_t n = reply.elements;
  if ((kind == 1 && n == 4) || (kind == 3 && n == 4)) {
    std::optional<StoredEntry> entry = ReferenceLeaseEntry(reply, 1);
    if (!entry.has_value()) return std::nullopt;
    return std::make_pair(static_cast<int>(kind), std::move(entry));
  }
  if (kind == 2 && n == 2 && IsBulk(*reply.element[1]) && !Text(*reply.element[1]).empty()) {
    return std::make_pair(2, std::optional<StoredEntry>());
  }
  if ((kind == 3 || kind == 4) && n == 1) {
    return std::make_pair(static_cast<int>(kind), std::optional<StoredEntry>());
  }
  return std::nullopt;
}

void CheckLeaseReply(const redisReply& reply) {
  const absl::StatusOr<redis::LeaseScriptResult> decoded = redis::DecodeLeaseReply(reply);
  const auto want = ReferenceLease(reply);
  if (!CheckOutcome(reply, decoded, want.has_value(), "DecodeLeaseReply")) return;
  const larder::storage::LeaseResult& got = decoded->result;
  const int kind = want->first;
  const bool fields_match =
      decoded->unregistered == (kind == 4) && got.wait == (kind == 3) &&
      SameEntry(got.entry, kind == 1 ? want->second : std::nullopt) &&
      SameEntry(got.stale, kind == 3 ? want->second : std::nullopt) &&
      got.token == (kind == 2 ? std::string(Text(*reply.element[1])) : std::string());
  if (!fields_match) Fail("DecodeLeaseReply: the result is not the reply's fields");
}

// SMEMBERS of a lease registry: bulk strings, each a decimal in [0, 256).
void CheckBucketListReply(const redisReply& reply) {
  constexpr int kBuckets = 256;
  const absl::StatusOr<std::vector<int>> decoded = redis::DecodeBucketListReply(reply, kBuckets);
  std::vector<int> want;
  bool well_formed = reply.type == REDIS_REPLY_ARRAY;
  for (size_t i = 0; well_formed && i < reply.elements; ++i) {
    const redisReply& member = *reply.element[i];
    const std::optional<int64_t> bucket =
        IsBulk(member) ? ReferenceDecimal(Text(member)) : std::nullopt;
    well_formed = bucket.has_value() && *bucket >= 0 && *bucket < kBuckets;
    if (well_formed) want.push_back(static_cast<int>(*bucket));
  }
  if (CheckOutcome(reply, decoded, well_formed, "DecodeBucketListReply") && *decoded != want) {
    Fail("DecodeBucketListReply: the buckets are not the reply's");
  }
}

// ROLE: an array whose first element is the role, as a bulk string; only "master" is one.
void CheckRoleReply(const redisReply& reply) {
  const absl::StatusOr<bool> master = redis::DecodeRoleReplyIsMaster(reply);
  const bool well_formed =
      reply.type == REDIS_REPLY_ARRAY && reply.elements > 0 && IsBulk(*reply.element[0]);
  if (CheckOutcome(reply, master, well_formed, "DecodeRoleReplyIsMaster") &&
      *master != (Text(*reply.element[0]) == "master")) {
    Fail("DecodeRoleReplyIsMaster: the role is not the reply's");
  }
}

// A change message: <namespace [A-Za-z0-9_.-]{1,128}> NUL <kind k|a|p|g|t> <subject of at most
// 4096 bytes: non-empty for k, empty for a>.
struct ReferenceChange {
  absl::string_view ns;
  ChangeKind kind;
  absl::string_view subject;
};
std::optional<ReferenceChange> ReferenceChangeMessage(absl::string_view message) {
  const size_t nul = message.find('\0');
  if (nul == absl::string_view::npos || nul == 0 || nul > 128 || nul + 2 > message.size()) {
    return std::nullopt;
  }
  for (char c : message.substr(0, nul)) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!allowed) return std::nullopt;
  }
  const size_t kind = absl::string_view("kapgt").find(message[nul + 1]);
  const absl::string_view subject = message.substr(nul + 2);
  if (kind == absl::string_view::npos || subject.size() > 4096) return std::nullopt;
  if ((kind == 0 && subject.empty()) || (kind == 1 && !subject.empty())) return std::nullopt;
  return ReferenceChange{message.substr(0, nul), static_cast<ChangeKind>(kind), subject};
}

void CheckChangeMessage(absl::string_view message) {
  const absl::StatusOr<redis::ChangeMessage> decoded = redis::DecodeChangeMessage(message);
  const std::optional<ReferenceChange> want = ReferenceChangeMessage(message);
  if (decoded.ok() != want.has_value()) {
    Fail(decoded.ok() ? "DecodeChangeMessage: accepts a malformed message"
                      : "DecodeChangeMessage: refuses a well-formed message");
  }
  if (!decoded.ok()) {
    if (decoded.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(decoded.status().message(), "redis: malformed change message: ")) {
      Fail("DecodeChangeMessage: a refusal is not kInvalidArgument saying why");
    }
    return;
  }
  if (decoded->ns != want->ns || decoded->kind != want->kind || decoded->subject != want->subject) {
    Fail("DecodeChangeMessage: the fields are not the message's");
  }
  if (redis::EncodeChangeMessage(decoded->ns, decoded->kind, decoded->subject) != message) {
    Fail("EncodeChangeMessage does not give back the message it was decoded from");
  }
}

// A probe: NUL 'h' and a token of 1 to 64 bytes; never a change (its namespace is empty).
void CheckProbeMessage(absl::string_view message) {
  const std::optional<absl::string_view> token = redis::ProbeTokenOf(message);
  const bool probe =
      message.size() >= 3 && message.size() <= 66 && message[0] == '\0' && message[1] == 'h';
  if (token.has_value() != probe) Fail("ProbeTokenOf: wrong about what is a probe");
  if (!probe) return;
  if (*token != message.substr(2) || redis::EncodeProbeMessage(*token) != message) {
    Fail("ProbeTokenOf: the token is not the message's");
  }
  if (redis::DecodeChangeMessage(message).ok()) Fail("DecodeChangeMessage: accepts a probe");
}

// What a subscribed connection receives: ["message", channel, payload], ["subscribe", channel,
// count >= 1], ["pong", argument], all bulk strings but the count.
void CheckFeedReply(const redisReply& reply) {
  constexpr absl::string_view kChannel = "larder:changes";
  const absl::StatusOr<redis::FeedReply> decoded = redis::DecodeFeedReply(reply, kChannel);
  std::optional<redis::FeedReply> want;
  const size_t n = reply.type == REDIS_REPLY_ARRAY ? reply.elements : 0;
  const absl::string_view type = n >= 2 && IsBulk(*reply.element[0]) ? Text(*reply.element[0]) : "";
  if (type == "pong" && n == 2 && IsBulk(*reply.element[1])) {
    want = redis::FeedReply{redis::FeedReply::Type::kPong, {}};
  } else if (n == 3 && IsBulk(*reply.element[1]) && Text(*reply.element[1]) == kChannel) {
    const redisReply& third = *reply.element[2];
    if (type == "message" && IsBulk(third)) {
      want = redis::FeedReply{redis::FeedReply::Type::kMessage, Text(third)};
    } else if (type == "subscribe" && IsInteger(third) && third.integer >= 1) {
      want = redis::FeedReply{redis::FeedReply::Type::kSubscribed, {}};
    }
  }
  if (!CheckOutcome(reply, decoded, want.has_value(), "DecodeFeedReply")) return;
  if (decoded->type != want->type || decoded->payload != want->payload) {
    Fail("DecodeFeedReply: the result is not the reply's");
  }
}

// Every check on `reply` and, so that nested shapes are reached too, on each of its elements.
void CheckTree(const redisReply& reply) {
  CheckAccessors(reply);
  CheckErrorReplyStatus(reply);
  CheckEntryReply(reply);
  CheckScanPage(reply);
  CheckSetReply(reply);
  CheckDeleteAndTouchReplies(reply);
  CheckCountReplies(reply);
  CheckRoleReply(reply);
  CheckLeaseReply(reply);
  CheckBucketListReply(reply);
  CheckFeedReply(reply);
  if (IsBulk(reply)) {
    CheckChangeMessage(Text(reply));
    CheckProbeMessage(Text(reply));
    CheckEntryString(Text(reply));
  }
  if (reply.type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < reply.elements; ++i) CheckTree(*reply.element[i]);
}

// hiredis 0.14 allocates the element pointers of an array as soon as it reads "*<count>", before
// the elements arrive (it has no limit of its own), so "*300000000" is 2.4 GB of the harness's
// memory and says nothing of the decoders. Such inputs, announcing more elements than they hold
// bytes (a real element takes at least three), are skipped.
bool AnnouncesHugeArray(absl::string_view input) {
  for (size_t star = input.find('*'); star != absl::string_view::npos;
       star = input.find('*', star + 1)) {
    uint64_t count = 0;
    for (size_t i = star + 1; i < input.size() && input[i] >= '0' && input[i] <= '9'; ++i) {
      count = count * 10 + static_cast<uint64_t>(input[i] - '0');
      if (count > input.size()) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckChangeMessage(input);
  CheckProbeMessage(input);
  CheckEntryString(input);
  if (AnnouncesHugeArray(input)) return 0;
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) Fail("redisReaderCreate failed");
  if (redisReaderFeed(reader, reinterpret_cast<const char*>(data), size) == REDIS_OK) {
    void* raw = nullptr;
    while (redisReaderGetReply(reader, &raw) == REDIS_OK && raw != nullptr) {
      const redis::RedisReply reply(static_cast<redisReply*>(raw));
      CheckTree(*reply);
      raw = nullptr;
    }
  }
  redisReaderFree(reader);
  return 0;
}

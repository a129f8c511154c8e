// RedisEngine's conversion of layout 1 entries (a hash each, as larderd stored them before) to
// layout 2 (a string each; redis_scripts.h). Every script and every Get converts a layout 1
// entry it meets; what only this pass bounds is MultiGet's: MGET answers nil for a hash, so until
// every entry is a string MultiGet reads with one GET per key (WRONGTYPE, then converted). Each
// engine's converter thread reads "P layout"; unless it says "2", it SCANs each master for
// hashes under "P{*}e:*" (O(keys of that master), once per Redis in effect), converts each with
// Script::kConvert, then sets "P layout" to "2" and lets MultiGet MGET. Until a Get or a write
// converts them, MultiGet reads as misses the hashes this pass did not see: one that moved to an
// already scanned master while it ran, and one a larderd of layout 1 still writing beside this
// one stored after it (docs/engines.md: upgrade every replica together, without resharding).
#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "larder/common/status_macros.h"
#include "server/log/log.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_replies.h"
#include "server/storage/redis/redis_router.h"
#include "server/storage/redis/redis_scripts.h"

namespace larder::storage {
namespace {

// `text` matching itself alone in a Redis glob pattern.
std::string GlobLiteral(absl::string_view text) {
  std::string literal;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') literal.push_back('\\');
    literal.push_back(c);
  }
  return literal;
}

// "P{<ns>:<bucket number>}e:<key>". The scan's pattern also matches other hashes: a lease record
// of a key holding "}e:", another application's keys.
bool IsEntryKey(absl::string_view key, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&key, prefix) || !absl::ConsumePrefix(&key, "{")) return false;
  const size_t brace = key.find('}');  // A namespace holds no '}'.
  if (brace == absl::string_view::npos || key.substr(brace + 1, 2) != "e:") return false;
  const size_t colon = key.rfind(':', brace);
  const absl::string_view bucket = key.substr(colon + 1, brace - colon - 1);
  return colon != absl::string_view::npos && !bucket.empty() &&
         bucket.find_first_not_of("0123456789") == absl::string_view::npos;
}

constexpr absl::string_view kLayoutDone = "2";
constexpr absl::Duration kMaxConvertBackoff = absl::Seconds(5);

}  // namespace

void RedisEngine::ConvertLayoutUntilDone() {
  absl::Duration backoff = absl::Milliseconds(50);
  for (int attempt = 1;; ++attempt) {
    const absl::Status converted = ConvertLayout();
    if (converted.ok()) {
      all_strings_.store(true, std::memory_order_release);
      return;
    }
    // Rate-limited by the backoff: the first failure, then one line per 5 s at most.
    if (attempt == 1 || backoff >= kMaxConvertBackoff) {
      server::Log(server::Severity::kWarning, "redis_layout_conversion_failed",
                  {{"engine", "redis"}, {"attempt", attempt}, {"cause", converted}});
    }
    if (stop_converting_.WaitForNotificationWithTimeout(backoff)) return;
    backoff = std::min(backoff * 2, kMaxConvertBackoff);
  }
}

absl::Status RedisEngine::ConvertLayout() {
  const std::string marker = absl::StrCat(options_.key_prefix, "layout");
  const uint16_t slot = internal::KeySlot(marker);
  LARDER_ASSIGN_OR_RETURN(internal::RedisReply layout,
                          router_->Run(slot, [&](internal::RedisConnection& c) {
                            return c.Run({"GET", marker});
                          }));
  if (internal::StringOf(*layout) == kLayoutDone) return absl::OkStatus();
  const std::vector<internal::RedisPool*> masters = router_->Masters();
  if (masters.empty()) return absl::UnavailableError("redis: no master reachable yet");
  for (internal::RedisPool* pool : masters) LARDER_RETURN_IF_ERROR(ConvertEntriesOf(*pool));
  return router_
      ->Run(slot,
            [&](internal::RedisConnection& c) {
              return c.Run({"SET", marker, kLayoutDone});
            })
      .status();
}

absl::Status RedisEngine::ConvertEntriesOf(internal::RedisPool& pool) {
  const std::string pattern = absl::StrCat(GlobLiteral(options_.key_prefix), "{*}e:*");
  std::string cursor = "0";
  do {
    if (stop_converting_.HasBeenNotified()) return absl::CancelledError("redis engine stopping");
    std::vector<std::string> keys;
    {  // The connection goes back before the conversions borrow one.
      LARDER_ASSIGN_OR_RETURN(internal::RedisPool::Lease connection, pool.Acquire());
      LARDER_ASSIGN_OR_RETURN(
          internal::RedisReply page,
          connection->Run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", "hash"}));
      LARDER_ASSIGN_OR_RETURN(keys, internal::DecodeScanPage(*page, cursor));
    }
    for (const std::string& key : keys) LARDER_RETURN_IF_ERROR(ConvertEntry(key));
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::Status RedisEngine::ConvertEntry(absl::string_view entry_key) {
  if (!IsEntryKey(entry_key, options_.key_prefix)) return absl::OkStatus();
  Bucket bucket;
  bucket.base = std::string(entry_key.substr(0, entry_key.find('}') + 1));
  bucket.slot = internal::KeySlot(bucket.base);
  const std::string now_text = absl::StrCat(absl::ToUnixMicros(clock_.Now()));
  return Eval(bucket, internal::Script::kConvert, {entry_key}, {now_text, bucket.base}).status();
}

}  // namespace larder::storage

// RequestPathHarness (request_path_harness.h): set-up, the checks every call goes through, reads
// against the model, and the engine-wide invariants checked after every record.
#include "tests/fuzz/request_path_harness.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"
#include "server/storage/memory/memory_node.h"

namespace larder::fuzz {
void Fail(const char* what) {
  std::fprintf(stderr, "request_path_fuzz: %s\n", what);
  std::abort();
}

// "keys[3]: ...", "entries[0].ttl: ...": a field path, a colon and a space.
bool NamesAField(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == 0 || colon == absl::string_view::npos) return false;
  for (char c : message.substr(0, colon)) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' ||
          c == ']')) {
      return false;
    }
  }
  return true;
}

bool Tracing() {
  static const bool tracing = std::getenv("LARDER_FUZZ_TRACE") != nullptr;
  return tracing;
}

void Trace(const google::protobuf::Message& request, const absl::Status& status,
           const google::protobuf::Message& response) {
  std::fprintf(stderr, "%s {%s} -> %s {%s}\n", request.GetTypeName().c_str(),
               request.ShortDebugString().substr(0, 300).c_str(), status.ToString().c_str(),
               response.ShortDebugString().substr(0, 300).c_str());
}

bool DocumentedNamespace(absl::string_view ns) {
  if (ns.empty() || ns.size() > limits::kMaxNamespaceBytes) return false;
  for (char c : ns) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool DocumentedKey(absl::string_view key) {
  return !key.empty() && key.size() <= limits::kMaxKeyBytes;
}

void CheckRule(bool valid, const absl::Status& status, absl::string_view field) {
  const bool blamed = status.code() == absl::StatusCode::kInvalidArgument &&
                      absl::StartsWith(status.message(), absl::StrCat(field, ":"));
  if (valid && blamed) Fail("a valid field is refused");
  if (!valid && !blamed) Fail("an invalid field is accepted");
}

absl::Duration DurationOf(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

RequestPathHarness::RequestPathHarness(uint8_t config) {
  options_.default_ttl = config & 1 ? absl::Seconds(30) : absl::ZeroDuration();
  options_.max_ttl = config & 2 ? absl::Hours(1) : absl::ZeroDuration();
  options_.max_value_bytes = kFuzzMaxValueBytes;
  options_.max_response_bytes = config & 4 ? 2 << 10 : 64 << 10;
  options_.max_tracked_namespaces = config & 8 ? 2 : 10000;
  exact_namespace_counts_ = !(config & 8);
  // Two small shards, where evictions are frequent; or one large enough for more than
  // limits::kKeysPerLockedBatch entries, so that Invalidate works in several batches.
  const bool large = config & 16;
  storage::MemoryEngineOptions engine_options;
  engine_options.shards = large ? 1 : 2;
  engine_options.max_bytes = large ? kFuzzLargeShardBytes : 2 * kFuzzShardBytes;
  engine_options.max_entry_bytes = kFuzzShardBytes;
  engine_options.sweep_interval = absl::ZeroDuration();
  auto engine = storage::MemoryEngine::Create(engine_options, clock_);
  if (!engine.ok() || (*engine)->shard_count() != engine_options.shards) {
    Fail("cannot create the memory engine");
  }
  engine_ = *std::move(engine);
  handler_ = std::make_unique<server::CacheHandler>(*engine_, clock_, options_);
}

void RequestPathHarness::Run(uint8_t selector, uint16_t length, absl::string_view bytes) {
  switch (selector % 11) {
    case 0:
      return Get(bytes);
    case 1:
      return Set(bytes);
    case 2:
      return Delete(bytes);
    case 3:
      return Touch(bytes);
    case 4:
      return MultiGet(bytes);
    case 5:
      return MultiSet(bytes);
    case 6:
      return Invalidate(bytes);
    case 7:
      return Stats(bytes);
    case 8:
      return clock_.Advance(absl::Milliseconds(10 * int64_t{length}));
    case 9:
      engine_->SweepExpired();
      return;
    default:
      handler_->ForgetIdleNamespaces(length);
      exact_namespace_counts_ = false;  // Forgotten counts move to the overflow bucket.
      return;
  }
}

storage::EngineStats RequestPathHarness::StatsOf(absl::string_view ns) {
  absl::StatusOr<storage::EngineStats> stats = engine_->Stats(ns);
  if (!stats.ok()) Fail("the memory engine's Stats failed");
  return *stats;
}

RequestPathHarness::Fingerprint RequestPathHarness::Snapshot() {
  const storage::EngineStats stats = StatsOf("");
  const storage::MemoryUsage usage = engine_->Usage();
  const server::HitCounts counts = handler_->namespace_stats().Counts("");
  return {stats.entries,       stats.bytes,
          stats.evictions,     stats.expirations,
          usage.charged_bytes, usage.namespace_tables,
          usage.tag_sets,      usage.retired_namespaces,
          counts.hits,         counts.misses};
}

absl::Time RequestPathHarness::ExpiryOf(const google::protobuf::Duration* ttl) const {
  const absl::Duration duration = ttl != nullptr ? DurationOf(*ttl) : options_.default_ttl;
  return duration > absl::ZeroDuration() ? clock_.Now() + duration : absl::InfiniteFuture();
}

void RequestPathHarness::CheckTtl(const v1::GetResponse& response, absl::Time expires_at,
                                  absl::Time now) const {
  if (expires_at == absl::InfiniteFuture()) {
    if (response.has_ttl()) Fail("an entry that never expires reports a TTL");
    return;
  }
  if (!response.has_ttl() || DurationOf(response.ttl()) != expires_at - now) {
    Fail("a read reports another remaining TTL than the last Set or Touch gave");
  }
  if (options_.max_ttl > absl::ZeroDuration() && DurationOf(response.ttl()) > options_.max_ttl) {
    Fail("a remaining TTL is over --max-ttl");
  }
}

void RequestPathHarness::CheckRead(absl::string_view ns, absl::string_view key,
                                   const v1::GetResponse& response,
                                   absl::string_view if_none_match) {
  const absl::Time now = clock_.Now();
  const ModelEntry* entry = model_.Find(ns, key);
  if (!response.found()) {
    if (response.not_modified() || !response.value().empty() || !response.etag().empty() ||
        response.has_ttl()) {
      Fail("a miss carries data");
    }
    if (entry != nullptr && RequestPathModel::Certain(*entry, now, evictions_)) {
      Fail("a read misses a live entry though nothing was evicted since it was stored");
    }
    model_.Erase(ns, key);  // Gone now, whatever the reason.
    return;
  }
  if (entry == nullptr || !RequestPathModel::Live(*entry, now)) {
    Fail("a read returns an entry deleted, invalidated, expired or never stored");
  }
  if (response.etag() != entry->etag) Fail("a read returns another ETag than the last Set's");
  const bool matches = !if_none_match.empty() && IfNoneMatchMatches(if_none_match, entry->etag);
  if (response.not_modified() != matches) Fail("not_modified does not follow If-None-Match");
  if (response.value() != (matches ? "" : entry->value)) {
    Fail("a read returns another value than the last Set stored");
  }
  CheckTtl(response, entry->expires_at, now);
}

// The eviction count first: the per-entry bounds below depend on it.
void RequestPathHarness::CheckEngine() {
  const storage::EngineStats all = StatsOf("");
  if (all.evictions < evictions_ || all.expirations < expirations_) {
    Fail("the eviction or expiration count went down");
  }
  evictions_ = all.evictions;
  expirations_ = all.expirations;
  const storage::MemoryUsage usage = engine_->Usage();
  if (usage.max_shard_charged_bytes > usage.shard_capacity_bytes) Fail("a shard is over budget");
  if (usage.charged_bytes < all.bytes + all.entries * storage::internal::kEntryOverheadBytes) {
    Fail("the charged bytes do not cover the entries Stats reports");
  }
  const absl::Time now = clock_.Now();
  int64_t certain = 0, certain_bytes = 0, held = 0, held_bytes = 0;
  for (const auto& [name, entry] : model_.entries()) {
    const int64_t bytes = static_cast<int64_t>(name.second.size() + entry.value.size());
    ++held;
    held_bytes += bytes;
    if (!RequestPathModel::Certain(entry, now, evictions_)) continue;
    ++certain;
    certain_bytes += bytes;
  }
  if (all.entries < certain || all.entries > held || all.bytes < certain_bytes ||
      all.bytes > held_bytes) {
    Fail("Stats' entries or bytes are outside what the model allows");
  }
  storage::EngineStats sum;
  for (const std::string& ns : model_.namespaces()) {
    const storage::EngineStats one = StatsOf(ns);
    sum.entries += one.entries;
    sum.bytes += one.bytes;
  }
  if (sum.entries != all.entries || sum.bytes != all.bytes) {
    Fail("the namespaces' Stats do not add up to the total");
  }
}

}  // namespace larder::fuzz

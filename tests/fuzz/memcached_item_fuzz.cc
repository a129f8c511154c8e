// libFuzzer target for the memcached engine's item layouts (server/storage/memcached/
// memcached_item.h), the bytes it reads back from memcached servers other programs may write to:
// DecodeMemcachedItem, DecodeLeaseRecord and ParseLeaseGeneration on arbitrary bytes, and the
// lease rules (memcached_lease.h) on every record decoded.
//
// Aborts when an accepted item or record does not re-encode to exactly its bytes (each format
// has one encoding), when a decode error is not kDataLoss, when an accepted lease generation does
// not parse back to itself, when a committing record has no token, or when the rules contradict
// themselves (a stale value offered past the record's keep time, or expiring at or before now).
//
//   build-fuzz/tests/fuzz/memcached_item_fuzz tests/fuzz/corpus/memcached_item_fuzz \
//       -dict=tests/fuzz/memcached_item_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/memcached/memcached_item.h"
#include "server/storage/memcached/memcached_lease.h"

namespace {

namespace mc = larder::storage::internal;

void Fail(const char* what) {
  std::fprintf(stderr, "memcached_item_fuzz: %s\n", what);
  std::abort();
}

void CheckItem(absl::string_view bytes) {
  absl::StatusOr<mc::MemcachedItem> item = mc::DecodeMemcachedItem(bytes);
  if (!item.ok()) {
    if (item.status().code() != absl::StatusCode::kDataLoss) Fail("an item error not kDataLoss");
    return;
  }
  if (mc::EncodeMemcachedItem(*item) != bytes) Fail("an item re-encodes to other bytes");
}

// The rules on `record` at a few instants around its own times, with and without grace.
void CheckRules(const mc::MemcachedLeaseRecord& record) {
  const mc::LeaseGeneration generation{record.generation, absl::FromUnixSeconds(1767225600)};
  for (absl::Time now : {absl::FromUnixSeconds(1767225600), record.lease_until}) {
    if (now == absl::InfinitePast() || now == absl::InfiniteFuture()) continue;
    for (absl::Duration grace : {absl::ZeroDuration(), absl::Seconds(10)}) {
      (void)mc::LeaseIsCurrent(record, generation.id, now);
      const std::optional<larder::storage::StoredEntry> stale =
          mc::OfferedStale(record, generation, grace, now);
      if (stale.has_value() && stale->expires_at <= now) Fail("a stale value already gone");
      if (stale.has_value() && stale->expires_at > mc::RecordKeptUntil(record, grace)) {
        Fail("a stale value offered past its record's keep time");
      }
      (void)mc::VoidedForDelete(record, now);
      (void)mc::GrantedRecord(&record, record.full_key, "t", now + absl::Seconds(5), generation,
                              grace, now);
    }
  }
}

void CheckRecord(absl::string_view bytes) {
  absl::StatusOr<mc::MemcachedLeaseRecord> record = mc::DecodeLeaseRecord(bytes);
  if (!record.ok()) {
    if (record.status().code() != absl::StatusCode::kDataLoss) Fail("a record error not kDataLoss");
    return;
  }
  if (mc::EncodeLeaseRecord(*record) != bytes) Fail("a record re-encodes to other bytes");
  if (record->committing && record->token.empty()) Fail("committing without token");
  CheckRules(*record);
}

void CheckGeneration(absl::string_view text) {
  const std::optional<mc::LeaseGeneration> generation = mc::ParseLeaseGeneration(text);
  if (!generation.has_value()) return;
  const std::optional<mc::LeaseGeneration> again =
      mc::ParseLeaseGeneration(mc::EncodeLeaseGeneration(*generation));
  if (!again.has_value() || again->id != generation->id ||
      again->changed_at != generation->changed_at) {
    Fail("a lease generation does not parse back to itself");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckItem(bytes);
  CheckRecord(bytes);
  CheckGeneration(bytes);
  return 0;
}

// InMemoryResponseStore: a test double of our own ResponseStore interface (not of larder): a
// map with TTLs on an injected clock, tags, prefix invalidation, an "unavailable" switch (or
// any failure status) and call counters. Records are kept encoded, exactly as the larder-backed
// store keeps them, and raw bytes can be planted (a record someone else wrote). In held mode
// (set_held) it also answers LookupHeld, as a store with a near cache in the process does.
// DecodeFetched decodes bytes the caller read itself (Raw gives the bytes stored under a key).
//
//   larder::testing::FakeClock clock;
//   auto store = std::make_shared<InMemoryResponseStore>(clock);
//   store->set_unavailable(true);   // every call now fails with kUnavailable
//   store->PutRaw("items", key, "LHR9…", absl::Minutes(1));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "client/src/http/record_codec.h"
#include "larder/common/clock.h"
#include "larder/http/response_store.h"

namespace larder::http::testing {

class InMemoryResponseStore final : public ResponseStore {
 public:
  explicit InMemoryResponseStore(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view ns, absl::string_view key,
                                                       LookupPurpose /*purpose*/) override {
    absl::MutexLock lock(&mutex_);
    ++lookups_;
    if (!failure_.ok()) return failure_;
    auto it = entries_.find({std::string(ns), std::string(key)});
    if (it == entries_.end() || clock_.Now() >= it->second.expires_at) return std::nullopt;
    auto decoded = internal::DecodeRecord(it->second.bytes);
    if (!decoded.ok()) return decoded.status();
    return std::optional<StoredResponse>(*std::move(decoded));
  }

  // Held mode off (the default): nullopt, nothing is held. On: the entry Lookup would decode, for
  // the keys the held filter accepts (all without one). Never fails and never counts a lookup.
  std::optional<StoredResponse> LookupHeld(absl::string_view ns, absl::string_view key) override {
    absl::MutexLock lock(&mutex_);
    ++held_lookups_;
    if (!held_ || (held_filter_ && !held_filter_(key))) return std::nullopt;
    auto it = entries_.find({std::string(ns), std::string(key)});
    if (it == entries_.end() || clock_.Now() >= it->second.expires_at) return std::nullopt;
    auto decoded = internal::DecodeRecord(it->second.bytes);
    if (!decoded.ok()) return std::nullopt;
    return *std::move(decoded);
  }

  // The record in `value` as Lookup decodes it, nullopt when it is not one. Never fails, never
  // counts a lookup and ignores the TTL (the caller read the value while it was live).
  std::optional<StoredResponse> DecodeFetched(absl::string_view value) override {
    absl::MutexLock lock(&mutex_);
    ++fetched_decodes_;
    auto decoded = internal::DecodeRecord(value);
    if (!decoded.ok()) return std::nullopt;
    return *std::move(decoded);
  }

  void RecordHeldHit(absl::string_view ns) override {
    absl::MutexLock lock(&mutex_);
    ++held_hits_[std::string(ns)];
  }

  absl::Status Store(absl::string_view ns, absl::string_view key, const StoredResponse& response,
                     absl::Duration ttl, const std::vector<std::string>& tags) override {
    absl::MutexLock lock(&mutex_);
    ++stores_;
    if (!failure_.ok()) return failure_;
    if (fail_writes_) return absl::UnavailableError("larder unreachable");
    entries_[{std::string(ns), std::string(key)}] =
        Entry{internal::EncodeRecord(response), clock_.Now() + ttl,
              std::set<std::string>(tags.begin(), tags.end()), ttl};
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag) override {
    return EraseIf(
        ns, [&](const std::string&, const Entry& e) { return e.tags.count(std::string(tag)) > 0; });
  }

  absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view ns,
                                           absl::string_view prefix) override {
    return EraseIf(
        ns, [&](const std::string& key, const Entry&) { return absl::StartsWith(key, prefix); });
  }

  void set_unavailable(bool unavailable) {
    set_failure(unavailable ? absl::UnavailableError("larder unreachable") : absl::OkStatus());
  }
  // Every call fails with `failure` (OK turns failures off).
  void set_failure(absl::Status failure) {
    absl::MutexLock lock(&mutex_);
    failure_ = std::move(failure);
  }
  // Stores `bytes` as they are under (ns, key), as if another writer had put them there.
  void PutRaw(absl::string_view ns, absl::string_view key, std::string bytes, absl::Duration ttl) {
    absl::MutexLock lock(&mutex_);
    entries_[{std::string(ns), std::string(key)}] =
        Entry{std::move(bytes), clock_.Now() + ttl, {}, ttl};
  }
  // The bytes stored under (ns, key), if any.
  std::optional<std::string> Raw(absl::string_view ns, absl::string_view key) {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find({std::string(ns), std::string(key)});
    if (it == entries_.end()) return std::nullopt;
    return it->second.bytes;
  }
  // Only Store fails (reads still work).
  void set_fail_writes(bool fail) {
    absl::MutexLock lock(&mutex_);
    fail_writes_ = fail;
  }
  int lookups() {
    absl::MutexLock lock(&mutex_);
    return lookups_;
  }
  // Held mode: see LookupHeld. `filter`, when set, says which keys are held.
  void set_held(bool held) {
    absl::MutexLock lock(&mutex_);
    held_ = held;
  }
  void set_held_filter(std::function<bool(absl::string_view key)> filter) {
    absl::MutexLock lock(&mutex_);
    held_filter_ = std::move(filter);
  }
  int held_lookups() {
    absl::MutexLock lock(&mutex_);
    return held_lookups_;
  }
  // DecodeFetched calls.
  int fetched_decodes() {
    absl::MutexLock lock(&mutex_);
    return fetched_decodes_;
  }
  // RecordHeldHit calls for `ns`.
  int held_hits(absl::string_view ns) {
    absl::MutexLock lock(&mutex_);
    auto it = held_hits_.find(std::string(ns));
    return it == held_hits_.end() ? 0 : it->second;
  }
  int stores() {
    absl::MutexLock lock(&mutex_);
    return stores_;
  }
  size_t size() {
    absl::MutexLock lock(&mutex_);
    return entries_.size();
  }
  // The one entry of `ns` (tests with a single key), its TTL and tags.
  std::optional<std::pair<StoredResponse, absl::Duration>> Only(absl::string_view ns) {
    absl::MutexLock lock(&mutex_);
    for (const auto& [id, entry] : entries_) {
      if (id.first == ns) return std::make_pair(*internal::DecodeRecord(entry.bytes), entry.ttl);
    }
    return std::nullopt;
  }
  std::set<std::string> TagsOfOnly(absl::string_view ns) {
    absl::MutexLock lock(&mutex_);
    for (const auto& [id, entry] : entries_) {
      if (id.first == ns) return entry.tags;
    }
    return {};
  }

 private:
  struct Entry {
    std::string bytes;
    absl::Time expires_at;
    std::set<std::string> tags;
    absl::Duration ttl;
  };

  template <typename Predicate>
  absl::StatusOr<int64_t> EraseIf(absl::string_view ns, Predicate predicate) {
    absl::MutexLock lock(&mutex_);
    if (!failure_.ok()) return failure_;
    int64_t erased = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->first.first == ns && predicate(it->first.second, it->second)) {
        it = entries_.erase(it);
        ++erased;
      } else {
        ++it;
      }
    }
    return erased;
  }

  const Clock& clock_;
  absl::Mutex mutex_;
  std::map<std::pair<std::string, std::string>, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  bool fail_writes_ ABSL_GUARDED_BY(mutex_) = false;
  int lookups_ ABSL_GUARDED_BY(mutex_) = 0;
  int stores_ ABSL_GUARDED_BY(mutex_) = 0;
  bool held_ ABSL_GUARDED_BY(mutex_) = false;
  std::function<bool(absl::string_view)> held_filter_ ABSL_GUARDED_BY(mutex_);
  int held_lookups_ ABSL_GUARDED_BY(mutex_) = 0;
  int fetched_decodes_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<std::string, int> held_hits_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::http::testing

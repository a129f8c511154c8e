// StorageEngine: where larderd keeps entries. One small abstract class; the memory, RocksDB,
// Redis and memcached engines implement it and a single conformance suite (tests/storage/) holds
// them to it.
//
//   std::unique_ptr<StorageEngine> engine = ...;   // see engine_registry.h
//   SetOptions options{.expires_at = now + absl::Minutes(5), .etag = StrongEtagFor(value)};
//   absl::StatusOr<SetResult> stored = engine->Set("users", "42", value, options);
//   absl::StatusOr<std::optional<StoredEntry>> entry = engine->Get("users", "42");
//
// Contract for every implementation:
// - Thread-safe: every method may be called concurrently from many threads.
// - Arguments are already validated by the caller (CacheHandler); engines do not re-check
//   limits. Namespaces never contain '\0' (they are [A-Za-z0-9_.-]+).
// - A miss is OK with std::nullopt, never an error. Backend I/O trouble (worth retrying) is
//   kUnavailable; data the engine cannot read (corruption) is kDataLoss and an operation the
//   backend refuses for good is kInternal: neither is retried by clients.
// - Keys, prefixes, patterns and tags are arbitrary bytes (NUL and invalid UTF-8 included) of
//   the sizes in larder/common/limits.h, and round-trip exactly.
// - Expiry is judged by the injected Clock, never by the backend's own idea of time: an entry
//   with expires_at <= clock.Now() is never returned, and is removed when touched (counted as
//   an expiration). Engines may also reclaim expired entries in the background.
// - ETags are computed by the caller from the value bytes and stored verbatim with the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/change_listener.h"

namespace larder::storage {

// What a Get returns for a live entry.
struct StoredEntry {
  std::string value;
  std::string etag;
  // absl::InfiniteFuture() when the entry never expires.
  absl::Time expires_at = absl::InfiniteFuture();
};

// How a Set stores its entry.
struct SetOptions {
  // absl::InfiniteFuture() for an entry that never expires.
  absl::Time expires_at = absl::InfiniteFuture();
  // The strong ETag of the value (larder::StrongEtagFor), stored verbatim.
  std::string etag;
  // Compare-and-set: when set, store only if a live entry exists whose ETag matches this
  // If-Match list (larder::IfMatchMatches). Never set together with if_absent.
  std::optional<std::string> if_match;
  // Store only when no live entry exists.
  bool if_absent = false;
  // Tags for Invalidate(kTag). Replace the tags of any previous entry under the same key.
  std::vector<std::string> tags;
  // A token from Lease: store only while that lease is the key's current one, and end it. Never
  // set together with if_match or if_absent. Without one, a Set voids any lease of the key.
  std::optional<std::string> lease_token;
};

struct SetResult {
  // False only when if_match / if_absent did not hold.
  bool stored = false;
  // The stored ETag; when not stored, the current live entry's ETag, or empty if none.
  std::string etag;
};

// What Lease answers: exactly one of `entry` (a live entry), `token` (a new lease: the caller
// computes and stores with SetOptions::lease_token) or `wait` (another caller holds the lease),
// or none of them when the lease table is full.
struct LeaseResult {
  std::optional<StoredEntry> entry;
  std::string token;
  bool wait = false;
  // With wait: the key's most recent value that expired or was removed, while the engine keeps
  // it (its expires_at is when it stops doing so).
  std::optional<StoredEntry> stale;
};

// What Invalidate removes within one namespace.
struct InvalidateTarget {
  enum class Kind { kAll, kPrefix, kPattern, kTag };
  Kind kind = Kind::kAll;
  // The prefix, glob pattern (see glob.h) or tag; unused for kAll.
  std::string argument;
};

// One entry of a MultiSet.
struct SetItem {
  absl::string_view key;
  absl::string_view value;
  SetOptions options;
};

// Counters of one namespace, or of all namespaces when asked for "".
struct EngineStats {
  int64_t entries = 0;      // Entries held (live; expired ones not yet reclaimed may count).
  int64_t bytes = 0;        // Sum of key.size() + value.size() over those entries.
  int64_t evictions = 0;    // Entries removed to respect a memory limit.
  int64_t expirations = 0;  // Expired entries removed (on read, by a sweeper or compaction).
};

// One namespace of a ListNamespaces page.
struct NamespaceInfo {
  std::string name;
  int64_t entries = 0;  // As Stats(name) counts them.
  int64_t bytes = 0;
};

// A page of ListNamespaces.
struct NamespaceList {
  // Sorted by name (bytewise), each after the page's `after` and holding at least one entry.
  std::vector<NamespaceInfo> namespaces;
  // Where the next page starts (the last namespace examined), or empty when none follows. May
  // be set while `namespaces` holds fewer than the limit (engines skip emptied namespaces).
  std::string resume_after;
};

// What an engine can do beyond the calls every engine serves, so callers (the handler, the
// conformance suite, docs) need not guess from its name. An engine answers a call it cannot serve
// with kFailedPrecondition naming the call and the reason.
struct EngineCapabilities {
  // Invalidate{prefix} and Invalidate{pattern}: the engine can enumerate a namespace's keys.
  bool invalidate_prefix = true;
  bool invalidate_pattern = true;
  // Invalidate returns exactly the live entries it removed; otherwise it returns 0.
  bool invalidate_counts = true;
  // ListNamespaces lists the namespaces holding entries.
  bool list_namespaces = true;
  // Stats(ns) counts the entries and bytes of `ns`; otherwise they are 0 (Stats("") still counts
  // the whole store).
  bool namespace_stats = true;
  // Several larderds on the same backend see the same entries.
  bool shared_across_replicas = false;
  // WatchChanges reports the writes of every larderd on the backend, not only this one's.
  bool watch_across_replicas = false;
};

class StorageEngine {
 public:
  virtual ~StorageEngine() = default;

  // "memory", "rocksdb", "redis" or "memcached".
  virtual absl::string_view name() const = 0;

  // What this engine supports (see EngineCapabilities). Default: everything, not shared.
  virtual EngineCapabilities capabilities() const { return EngineCapabilities(); }

  // True when calls may block on I/O, so the service runs them off gRPC's callback threads.
  virtual bool blocking() const { return false; }

  // The live entry under (ns, key), or std::nullopt.
  virtual absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                         absl::string_view key) = 0;

  // What GetAsync calls back with.
  using GetCallback = absl::AnyInvocable<void(absl::StatusOr<std::optional<StoredEntry>>) &&>;
  // Get without blocking the caller, for engines whose Get waits on I/O: `done` runs exactly
  // once, on an engine thread or on the caller's before GetAsync returns, and must not block.
  // False, leaving `done` untouched, when the engine cannot do so now: the caller then calls Get
  // where it may block. Default: false.
  virtual bool GetAsync(absl::string_view ns, absl::string_view key, GetCallback& done) {
    (void)ns, (void)key, (void)done;
    return false;
  }

  // MultiGet's GetAsync: `keys` must live until `done` has run.
  using MultiGetCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<std::optional<StoredEntry>>>) &&>;
  virtual bool MultiGetAsync(absl::string_view ns, const std::vector<absl::string_view>& keys,
                             MultiGetCallback& done) {
    (void)ns, (void)keys, (void)done;
    return false;
  }

  // Stores `value` under (ns, key) subject to options' conditions, atomically with the check.
  virtual absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                        absl::string_view value, const SetOptions& options) = 0;

  // The live entry, or on a miss a new lease of `lease_ttl` when none is outstanding, or `wait`
  // (plus the stale value, when kept) while one is. A lease ends when its holder stores with its
  // token, when it expires, and (voided) when a Set without its token, a Delete or an
  // Invalidate that may cover the key runs. Default: kUnimplemented.
  virtual absl::StatusOr<LeaseResult> Lease(absl::string_view ns, absl::string_view key,
                                            absl::Duration lease_ttl);

  // Ends the key's lease when `token` is its current one, storing nothing (a Set with the token
  // was refused for bad input): the next Lease of the key is granted at once instead of waiting
  // for the lease to expire. The stale value stays offered. True when it ended a lease; false
  // when `token` was not the current one (nothing changes). Default: false (no leases).
  virtual absl::StatusOr<bool> EndLease(absl::string_view ns, absl::string_view key,
                                        absl::string_view token);

  // Removes the entry; true when a live entry was removed.
  virtual absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) = 0;

  // Sets a live entry's expiry to `expires_at`; returns its ETag, or std::nullopt on a miss.
  virtual absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns,
                                                           absl::string_view key,
                                                           absl::Time expires_at) = 0;

  // Removes the entries of `ns` selected by `target`; returns how many live entries went (0 on an
  // engine without EngineCapabilities::invalidate_counts). A kind the engine's capabilities lack
  // is kFailedPrecondition (CheckInvalidateSupported).
  // Bounded: works in batches of at most limits::kKeysPerLockedBatch keys and holds no lock
  // between batches, so calls on other namespaces (and on this one) proceed meanwhile. An entry
  // written (Set, MultiSet) after the Invalidate began is never removed by it (memory, RocksDB;
  // the Redis engine does not guarantee this yet: docs/engines.md).
  virtual absl::StatusOr<int64_t> Invalidate(absl::string_view ns,
                                             const InvalidateTarget& target) = 0;

  // Counters of `ns`, or of every namespace when `ns` is empty. Never holds a lock longer than
  // one batch of limits::kKeysPerLockedBatch keys.
  virtual absl::StatusOr<EngineStats> Stats(absl::string_view ns) = 0;

  // OK when the engine can serve; kUnavailable (with the reason) when it cannot.
  virtual absl::Status CheckHealth() = 0;

  // Up to `limit` (at least 1) namespaces named after `after` ("" for the first page), sorted,
  // with their counts. Each engine states its cost; none is proportional to the whole store's
  // entries, and no lock is held longer than one batch of limits::kKeysPerLockedBatch.
  // Default: kUnimplemented.
  virtual absl::StatusOr<NamespaceList> ListNamespaces(absl::string_view after, size_t limit);

  // Batch reads in key order. The default calls Get for each key; engines override it when
  // the backend has a cheaper batch read. Fails as a whole on the first engine error.
  virtual absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGet(
      absl::string_view ns, const std::vector<absl::string_view>& keys);

  // Stores every item in order, as if by Set one after the other (a later item sees an earlier
  // one of the same key), and returns one SetResult per item. All or nothing on an engine
  // failure: when it returns an error, no item was stored. The default calls Set per item,
  // which is all-or-nothing only for engines whose Set cannot fail (memory); engines that can
  // fail mid-way override it (RocksDB: one WriteBatch).
  virtual absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view ns,
                                                          const std::vector<SetItem>& items);

  // Changes for the Watch stream (change_listener.h). An engine whose entries change where
  // larderd's calls do not see it reports those changes to `listener` from now on: the Redis
  // engine every write of every larderd sharing its data (and OnLost / OnLive as its
  // subscription comes and goes), the memory engine its evictions. Returns true when the engine
  // reports every change, writes made through it included; false when larderd must report the
  // writes it makes itself (WithChangeReports). `listener` outlives the engine. Called at most
  // once, before the engine serves calls. Default: false, reporting nothing.
  virtual bool WatchChanges(ChangeListener* listener) {
    (void)listener;
    return false;
  }
};

// OK when `engine` can invalidate `target`'s kind (EngineCapabilities); else kFailedPrecondition
// naming the call ("Invalidate by prefix") and the engine, before anything is changed.
absl::Status CheckInvalidateSupported(const StorageEngine& engine, const InvalidateTarget& target);

}  // namespace larder::storage

// larder::Client: the C++ client of larderd (proto larder.v1.Cache), synchronous and
// asynchronous, with deadlines, retries of UNAVAILABLE for idempotent calls under a retry
// budget (RetryOptions), and metrics.
//
//   larder::ClientOptions options;
//   options.target = "localhost:7400";
//   LARDER_ASSIGN_OR_RETURN(std::shared_ptr<larder::Client> client,
//                           larder::Client::Create(options));
//   larder::SetOptions five_minutes;
//   five_minutes.ttl = absl::Minutes(5);
//   LARDER_RETURN_IF_ERROR(client->Set("pages", "/", "<html>…", five_minutes).status());
//   LARDER_ASSIGN_OR_RETURN(larder::GetResult page, client->Get("pages", "/"));
//   if (page.found) Serve(page.value);
//
// Errors are absl::Status with the gRPC code's number (kDeadlineExceeded past the deadline,
// kUnavailable when no server answers, kInvalidArgument for a namespace, key or value the
// server refuses, past the bounds of larder/common/limits.h, kUnauthenticated without a token
// larderd knows, kPermissionDenied for a principal lacking the namespace's permission, neither
// ever retried; kResourceExhausted naming ClientOptions::max_receive_message_bytes for a
// response above it). A miss is not an error: it is OK with found = false. A failed Get or
// MultiGet counts as `error` with its code in the metrics. A conditional Set or MultiSet
// (if_absent, if_match, lease_token) and a Lease are never retried, so their kUnavailable
// means "maybe applied": read the entry back before deciding.
//
// Thread-safety: every method may be called from any thread at once. Asynchronous callbacks run
// on gRPC's threads: they must not block, throw, call synchronous methods of the client, or
// hold the last reference to it.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/client_metrics.h"
#include "larder/client_options.h"
#include "larder/common/clock.h"
#include "larder/common/limits.h"

namespace larder {

struct GetOptions {
  // An If-None-Match list ("\"etag1\", \"etag2\"" or "*"), compared weakly. When it matches, the
  // result has found = true, not_modified = true and no value.
  // Default: empty
  std::string if_none_match;
  // Whether the client counts this lookup in larder_client_requests_total (hit or miss).
  // Layers that classify lookups themselves set false and call ClientMetrics::RecordLookup.
  // Default: true
  bool record_lookup = true;
};

struct MultiGetOptions {
  // Whether the client counts each key's lookup in larder_client_requests_total (hit or miss)
  // and a failure as an error. Layers that classify lookups themselves set false.
  // Default: true
  bool record_lookup = true;
};

struct GetResult {
  bool found = false;
  // Empty when not found or not_modified.
  std::string value;
  // The strong, quoted ETag of the value, the same on every server.
  std::string etag;
  // The remaining lifetime; nullopt when the entry never expires (or was not found).
  std::optional<absl::Duration> ttl;
  bool not_modified = false;
};

struct SetOptions {
  // Positive; nullopt uses the server's --default-ttl.
  // Default: nullopt
  std::optional<absl::Duration> ttl;
  // Compare-and-set: store only when the current ETag matches (strong comparison, a list, or
  // "*" for any live entry). Excludes if_absent.
  // Default: empty
  std::string if_match;
  // Store only when no live entry exists.
  // Default: false
  bool if_absent = false;
  // Tags for Invalidate(InvalidateTarget::Tag(…)): each 1-limits::kMaxTagBytes bytes, at most
  // limits::kMaxTagsPerEntry.
  // Default: none
  std::vector<std::string> tags;
  // The token of a LeaseResult: store only while that lease is still the key's current one
  // (else stored = false, not an error), which ends it. A Set without a token, a Delete or an
  // Invalidate touching the key voids the lease meanwhile, so a value computed before them is
  // refused instead of stored. At most limits::kMaxLeaseTokenBytes. Excludes if_match and
  // if_absent, and Set only: larderd refuses it with those or in a MultiSet entry
  // (kInvalidArgument). A Set with it is attempted once, like a conditional one.
  // Default: empty
  std::string lease_token;
};

struct SetResult {
  // False when if_match, if_absent or lease_token did not hold (not an error).
  bool stored = false;
  // The stored value's ETag; when not stored, the current entry's ETag if there is one.
  std::string etag;
};

// What Client::Lease found: exactly one of a live entry, a lease for this caller, a lease held
// by another caller, or (when the server holds too many leases) nothing at all.
struct LeaseResult {
  // entry.found: a live entry; nothing else set.
  GetResult entry;
  // Non-empty: this caller holds the lease; store with SetOptions::lease_token.
  std::string token;
  // Another caller holds the lease: wait for its value (poll Lease again), or serve `stale`.
  bool wait = false;
  // With wait: found when the server kept the key's previous value (its ttl: how long it stays).
  GetResult stale;
};

struct TouchResult {
  bool found = false;
  std::string etag;
};

// One entry of MultiSet.
struct SetEntry {
  std::string key;
  std::string value;
  SetOptions options;
};

// What Invalidate removes from a namespace.
class InvalidateTarget {
 public:
  enum class Kind { kAll, kPrefix, kPattern, kTag };
  // Every entry of the namespace.
  static InvalidateTarget All() { return InvalidateTarget(Kind::kAll, ""); }
  // Every key starting with `prefix` (1-limits::kMaxKeyBytes bytes).
  static InvalidateTarget Prefix(std::string prefix) {
    return InvalidateTarget(Kind::kPrefix, std::move(prefix));
  }
  // Every key matching a glob: '*' any run of bytes, '?' one byte, '\' escapes.
  static InvalidateTarget Pattern(std::string glob) {
    return InvalidateTarget(Kind::kPattern, std::move(glob));
  }
  // Every entry stored with `tag`.
  static InvalidateTarget Tag(std::string tag) {
    return InvalidateTarget(Kind::kTag, std::move(tag));
  }

  Kind kind() const { return kind_; }
  // The prefix, glob or tag; empty for kAll.
  const std::string& argument() const { return argument_; }

 private:
  InvalidateTarget(Kind kind, std::string argument) : kind_(kind), argument_(std::move(argument)) {}
  Kind kind_;
  std::string argument_;
};

struct CacheStats {
  int64_t entries = 0;
  int64_t bytes = 0;
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;
  int64_t expirations = 0;
  // "memory", "rocksdb" or "redis".
  std::string engine;
};

// One namespace of a Client::Namespaces page.
struct NamespaceInfo {
  std::string name;
  int64_t entries = 0;
  int64_t bytes = 0;
};

struct NamespacesPage {
  // Sorted by name; may be shorter than the page size even when more follow.
  std::vector<NamespaceInfo> namespaces;
  // Empty when the listing is complete; else the page_token of the next page.
  std::string next_page_token;
};

// One event of a Watch stream (see WatchEvent in proto/larder/v1/cache.proto).
struct WatchEvent {
  enum class Kind { kKey, kAll, kPrefix, kPattern, kTag, kReset };
  uint64_t sequence = 0;
  Kind kind = Kind::kReset;
  // The key, prefix, pattern or tag; empty for kAll and kReset.
  std::string argument;
};

// Called once with the outcome of an asynchronous call.
template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

class Client {
 public:
  // Builds the channel (it connects lazily, so an absent server is not an error here).
  // kInvalidArgument for an empty target, bad durations, half a TLS client identity, an auth
  // token that cannot be sent (empty file, CR/LF, control bytes) or a token file that cannot be
  // read, or a metrics registry holding conflicting families.
  static absl::StatusOr<std::shared_ptr<Client>> Create(ClientOptions options);
  // Waits for the client's calls in flight (each bounded by the deadline) to finish.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Synchronous calls: they block the calling thread for at most the deadline.
  absl::StatusOr<GetResult> Get(absl::string_view namespace_name, absl::string_view key,
                                const GetOptions& options = {});
  // What Get would answer from the near cache, without an RPC and without blocking: the hit,
  // counted as Get counts it; nullopt when the near cache does not hold the key (or the
  // namespace is not near-cached), and then nothing is counted, so the Get that follows counts
  // the lookup once. For event loops that must not wait: answer a hit inline, hand a miss to a
  // thread that may block.
  std::optional<GetResult> GetNear(absl::string_view namespace_name, absl::string_view key,
                                   const GetOptions& options = {});
  // A conditional Set (if_absent, if_match) is attempted once: see "Which calls are retried"
  // in docs/client.md.
  absl::StatusOr<SetResult> Set(absl::string_view namespace_name, absl::string_view key,
                                absl::string_view value, const SetOptions& options = {});
  // True when a live entry was removed.
  absl::StatusOr<bool> Delete(absl::string_view namespace_name, absl::string_view key);
  // Restarts the TTL of a live entry: `ttl` from now, nullopt for the server's default.
  absl::StatusOr<TouchResult> Touch(absl::string_view namespace_name, absl::string_view key,
                                    std::optional<absl::Duration> ttl = std::nullopt);
  // One result per key, in the order of `keys` (1-limits::kMaxBatchItems of them).
  absl::StatusOr<std::vector<GetResult>> MultiGet(absl::string_view namespace_name,
                                                  const std::vector<std::string>& keys);
  // 1-limits::kMaxBatchItems entries, validated as a whole by the server before anything is
  // stored; results in entry order. Attempted once when any entry is conditional.
  absl::StatusOr<std::vector<SetResult>> MultiSet(absl::string_view namespace_name,
                                                  const std::vector<SetEntry>& entries);
  // The number of live entries removed.
  absl::StatusOr<int64_t> Invalidate(absl::string_view namespace_name,
                                     const InvalidateTarget& target);
  // Counters of one namespace, or of the whole server when `namespace_name` is empty.
  absl::StatusOr<CacheStats> Stats(absl::string_view namespace_name = "");
  // Reads `key`, or on a miss makes this caller the one that computes it (see LeaseResult and
  // "Fleet-wide single flight" in docs/client.md). `lease_ttl`: how long a granted lease
  // lasts, positive and at most limits::kMaxLeaseTtlMillis; zero for the server's default (5 s).
  // Needs the read and write permissions. Attempted once (a repeat of a granted attempt would
  // answer wait = true to the lease's own holder). kUnimplemented from a server (or engine)
  // without leases; the client remembers it, and every later Lease answers kUnimplemented at
  // once without an RPC. Counted in larder_client_rpcs_total only (a layer classifies it).
  absl::StatusOr<LeaseResult> Lease(absl::string_view namespace_name, absl::string_view key,
                                    absl::Duration lease_ttl = absl::ZeroDuration());
  // One page of the namespaces holding entries, sorted by name, with their counts.
  // `page_size`: 0-1000, 0 for the server's default (100); `page_token`: empty for the first
  // page, else the previous page's next_page_token. Needs the admin permission on the whole
  // server. kUnimplemented from a server (or engine) that cannot list.
  absl::StatusOr<NamespacesPage> Namespaces(int page_size = 0, absl::string_view page_token = "");
  // Follows the namespace's changes: calls `on_event` with each event as it arrives, on another
  // thread, one at a time, until it returns false (then OK) or the stream ends (its status:
  // kUnavailable when larderd stops or loses its change feed, kUnimplemented from a server
  // without Watch). Blocks the calling thread meanwhile; no deadline applies. Needs read.
  absl::Status Watch(absl::string_view namespace_name,
                     std::function<bool(const WatchEvent&)> on_event);

  // Asynchronous calls: they return at once and call `done` exactly once, on another thread,
  // without holding a thread while the RPC is in flight.
  void GetAsync(absl::string_view namespace_name, absl::string_view key, const GetOptions& options,
                Callback<GetResult> done);
  void SetAsync(absl::string_view namespace_name, absl::string_view key, absl::string_view value,
                const SetOptions& options, Callback<SetResult> done);
  void DeleteAsync(absl::string_view namespace_name, absl::string_view key, Callback<bool> done);
  void TouchAsync(absl::string_view namespace_name, absl::string_view key,
                  std::optional<absl::Duration> ttl, Callback<TouchResult> done);
  void MultiGetAsync(absl::string_view namespace_name, const std::vector<std::string>& keys,
                     Callback<std::vector<GetResult>> done);
  void MultiGetAsync(absl::string_view namespace_name, const std::vector<std::string>& keys,
                     const MultiGetOptions& options, Callback<std::vector<GetResult>> done);
  void MultiSetAsync(absl::string_view namespace_name, const std::vector<SetEntry>& entries,
                     Callback<std::vector<SetResult>> done);
  void InvalidateAsync(absl::string_view namespace_name, const InvalidateTarget& target,
                       Callback<int64_t> done);
  void StatsAsync(absl::string_view namespace_name, Callback<CacheStats> done);
  void LeaseAsync(absl::string_view namespace_name, absl::string_view key, absl::Duration lease_ttl,
                  Callback<LeaseResult> done);
  void NamespacesAsync(int page_size, absl::string_view page_token, Callback<NamespacesPage> done);

  // The same calls as futures (get() blocks for at most the deadline).
  std::future<absl::StatusOr<GetResult>> GetAsync(absl::string_view namespace_name,
                                                  absl::string_view key,
                                                  const GetOptions& options = {});
  std::future<absl::StatusOr<SetResult>> SetAsync(absl::string_view namespace_name,
                                                  absl::string_view key, absl::string_view value,
                                                  const SetOptions& options = {});
  std::future<absl::StatusOr<bool>> DeleteAsync(absl::string_view namespace_name,
                                                absl::string_view key);
  std::future<absl::StatusOr<TouchResult>> TouchAsync(
      absl::string_view namespace_name, absl::string_view key,
      std::optional<absl::Duration> ttl = std::nullopt);
  std::future<absl::StatusOr<std::vector<GetResult>>> MultiGetAsync(
      absl::string_view namespace_name, const std::vector<std::string>& keys);
  std::future<absl::StatusOr<std::vector<SetResult>>> MultiSetAsync(
      absl::string_view namespace_name, const std::vector<SetEntry>& entries);
  std::future<absl::StatusOr<int64_t>> InvalidateAsync(absl::string_view namespace_name,
                                                       const InvalidateTarget& target);
  std::future<absl::StatusOr<CacheStats>> StatsAsync(absl::string_view namespace_name = "");
  std::future<absl::StatusOr<LeaseResult>> LeaseAsync(
      absl::string_view namespace_name, absl::string_view key,
      absl::Duration lease_ttl = absl::ZeroDuration());

  // The metrics this client records (also usable by layers built on it).
  ClientMetrics& metrics() const;
  // The registry the metrics live in: the user's, or DefaultMetricsRegistry().
  const std::shared_ptr<prometheus::Registry>& metrics_registry() const;
  // The injected clock (Clock::Real() unless ClientOptions::clock was set).
  const Clock& clock() const;
  const ClientOptions& options() const;

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder

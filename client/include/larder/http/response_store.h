// ResponseStore: where the HTTP caching layer keeps responses. A small interface of this layer
// so the pipeline is tested without a server; NewLarderResponseStore (larder_response_store.h)
// is the implementation over larder::Client.
//
//   std::shared_ptr<ResponseStore> store = larder::http::NewLarderResponseStore(client);
//   auto stored = store->Lookup("items", key);   // OK and nullopt on a miss
//   store->Store("items", key, response, absl::Seconds(35), {"items", "path:/items/7"});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/http/response.h"

namespace larder::http {

// Implementations are thread-safe. A miss is OK with nullopt, never an error; an unreachable
// or failing backend is kUnavailable (or kDeadlineExceeded), a refusing one kUnauthenticated or
// kPermissionDenied; a stored value that cannot be decoded is kDataLoss. The pipeline treats
// kDataLoss, and any record it finds unsafe to replay, as a miss whose render replaces the
// record; every other error as "cache unavailable", serving the handler's response (fail-open).
class ResponseStore {
 public:
  virtual ~ResponseStore() = default;

  // Why a lookup is made: the first lookup of a request is counted in the client's hit/miss
  // metrics; the renderer's re-check after a miss (coalescing) is not, so each request counts
  // once.
  enum class LookupPurpose { kServe, kRecheck };

  // The response stored under (namespace, key), if any.
  virtual absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view cache_namespace,
                                                               absl::string_view key,
                                                               LookupPurpose purpose) = 0;

  // Stores `response` for `ttl` (how long the backend keeps it: freshness plus stale windows)
  // with `tags`, replacing what was there.
  virtual absl::Status Store(absl::string_view cache_namespace, absl::string_view key,
                             const StoredResponse& response, absl::Duration ttl,
                             const std::vector<std::string>& tags) = 0;

  // Removes the namespace's entries carrying `tag`; returns how many.
  virtual absl::StatusOr<int64_t> InvalidateTag(absl::string_view cache_namespace,
                                                absl::string_view tag) = 0;

  // Removes the namespace's entries whose key starts with `prefix` (every entry when empty).
  virtual absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view cache_namespace,
                                                   absl::string_view prefix) = 0;
};

}  // namespace larder::http

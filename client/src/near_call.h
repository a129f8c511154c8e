// NearCall: what one Client call does with the near cache (near_cache.h) — nothing at all when
// its namespace is not near-cached. Get and Lease look up first and, on a miss, take a ticket
// before the call is sent and install what larderd answers; writes and invalidations apply to
// the near cache once larderd has answered them (whatever the answer: a write that failed may
// have been applied), before the caller's callback runs.
//
//   NearCall near(core, ns);
//   if (std::optional<GetResult> hit = near.Lookup(key, options.if_none_match)) return *hit;
//   near.BeginFetch();
//   ... on the answer: near.Install(key, result);
//   ... after a Set: near.InvalidateKey(key);
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "client/src/client_core.h"
#include "client/src/near_cache.h"
#include "larder/client.h"

namespace larder::client::internal {

class NearCall {
 public:
  NearCall(ClientCore& core, absl::string_view ns);

  // Lookup without a NearCall (no copy of the namespace): the synchronous calls' fast path.
  // `count_miss` false: a probe whose miss a counted lookup follows (Client::GetNear).
  static std::optional<GetResult> LookupIn(ClientCore& core, absl::string_view ns,
                                           absl::string_view key, absl::string_view if_none_match,
                                           bool count_miss = true);

  bool enabled() const { return cache_ != nullptr; }
  // A hit (found), or with a matching `if_none_match` its not_modified form; nullopt on a miss.
  std::optional<GetResult> Lookup(absl::string_view key, absl::string_view if_none_match);
  // Before the call that may fill the cache is sent.
  void BeginFetch();
  // Installs a found, complete answer fetched since BeginFetch (unless the near cache refuses).
  void Install(absl::string_view key, const GetResult& result);
  void InvalidateKey(absl::string_view key);
  void Invalidate(const InvalidateTarget& target);

 private:
  NearCache* cache_ = nullptr;
  const Clock* clock_ = nullptr;
  std::string ns_;  // Set only when enabled.
  NearTicket ticket_;
};

}  // namespace larder::client::internal

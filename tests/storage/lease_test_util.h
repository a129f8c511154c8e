// Helpers shared by the lease tests of the storage engines (leasing_engine_race_test.cc on the
// memory engine, engines/memcached_lease_test.cc and engines/memcached_lease_race_test.cc on
// memcached): plain SetOptions, and many callers leasing one key at once.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/storage_engine.h"

namespace larder::storage::testing {

// SetOptions storing `value` with its strong ETag: no expiry, no tags, no lease token.
inline SetOptions Plain(absl::string_view value) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  return options;
}

// What the callers of LeaseHotKeyConcurrently were answered.
struct HotKeyLeases {
  int granted = 0;  // Leases granted (a token).
  int waited = 0;   // Leases refused (no token: another caller holds it).
};

// `threads` callers at once, caller t asking `engine_of(t)` `per_thread` times for a 5 s lease of
// key "hot" in namespace "ns"; an engine error fails the test and ends that caller.
inline HotKeyLeases LeaseHotKeyConcurrently(int threads, int per_thread,
                                            const std::function<StorageEngine&(int)>& engine_of) {
  std::atomic<int> granted{0}, waited{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    StorageEngine* engine = &engine_of(t);
    callers.emplace_back([&, engine] {
      for (int i = 0; i < per_thread; ++i) {
        absl::StatusOr<LeaseResult> lease = engine->Lease("ns", "hot", absl::Seconds(5));
        ASSERT_TRUE(lease.ok()) << lease.status();
        (lease->token.empty() ? waited : granted).fetch_add(1);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  return {granted.load(), waited.load()};
}

}  // namespace larder::storage::testing

// EngineTest: the fixture of the storage-engine conformance suite. Each test gets a fresh engine,
// made through the EngineRegistry as larderd makes it, with a FakeClock: a memory engine, a
// RocksDB engine in a new temporary directory, or a Redis engine on a redis-server ("redis") or
// a Redis Cluster of 3 masters and 3 replicas ("redis_cluster"), or a memcached engine over two
// memcached servers ("memcached"), each started once per test binary (each test under its own
// key prefix).
//
// A case an engine cannot support is declared, never skipped: when capabilities() says the
// engine lacks what the case needs, the case checks instead that the engine refuses the call
// with kFailedPrecondition naming it (ExpectUnsupported), and changes nothing.
//
//   class EngineGetTest : public EngineTest {};
//   TEST_P(EngineGetTest, MissIsOkAndEmpty) { ... engine().Get("ns", "k") ... }
//   INSTANTIATE_TEST_SUITE_P(Engines, EngineGetTest, AllEngines(), EngineName);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/engine_registry.h"
#include "server/storage/storage_engine.h"
#include "tests/testing/fake_clock.h"

namespace larder::storage::testing {

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  StorageEngine& engine() { return *engine_; }
  EngineCapabilities capabilities() const { return engine_->capabilities(); }
  // What Invalidate should return having removed `removed` live entries: `removed`, or 0 on an
  // engine that cannot count them (EngineCapabilities::invalidate_counts).
  int64_t Removed(int64_t removed) const { return capabilities().invalidate_counts ? removed : 0; }
  // What Stats(ns).entries should say for `entries` live entries: `entries`, or 0 on an engine
  // that does not count a namespace's entries (EngineCapabilities::namespace_stats).
  int64_t Entries(int64_t entries) const { return capabilities().namespace_stats ? entries : 0; }
  larder::testing::FakeClock& clock() { return clock_; }

  // Stores `value` with its strong ETag, the given tags and a TTL (none when zero); fails the
  // test when the engine refuses.
  void Put(absl::string_view ns, absl::string_view key, absl::string_view value,
           absl::Duration ttl = absl::ZeroDuration(), std::vector<std::string> tags = {});
  // The stored value, or "<miss>"; fails the test on an engine error.
  std::string ValueOf(absl::string_view ns, absl::string_view key);
  // ValueOf of each key, read with one MultiGet.
  std::vector<std::string> ValuesOf(absl::string_view ns, const std::vector<std::string>& keys);

 private:
  larder::testing::FakeClock clock_;
  std::string data_dir_;
  std::unique_ptr<StorageEngine> engine_;
};

// Matches an OK absl::StatusOr whose value matches `matcher`.
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// Every engine the suite runs on.
inline auto AllEngines() {
  return ::testing::Values("memory", "rocksdb", "redis", "redis_cluster", "memcached");
}

// Names the instantiations "memory", "rocksdb", "redis", "redis_cluster", "memcached".
std::string EngineName(const ::testing::TestParamInfo<std::string>& info);

// SetOptions storing `value` with its strong ETag and expiry.
SetOptions OptionsFor(absl::string_view value, absl::Time expires_at = absl::InfiniteFuture());

// A MultiSet item storing `value` with its strong ETag and `tags`. `key` and `value` must outlive
// the item.
SetItem ItemFor(absl::string_view key, absl::string_view value, std::vector<std::string> tags = {});

// For a case the engine declares unsupported: `status` is kFailedPrecondition and its message
// names `call` (e.g. "Invalidate by prefix").
void ExpectUnsupported(const absl::Status& status, absl::string_view call);

// Matches a SetResult with the given `stored` and `etag`.
MATCHER_P2(SetResultIs, stored, etag, "") {
  *result_listener << "stored=" << arg.stored << " etag=" << arg.etag;
  return arg.stored == stored && arg.etag == etag;
}

}  // namespace larder::storage::testing

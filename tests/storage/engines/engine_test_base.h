// EngineTest: the fixture of the storage-engine conformance suite. Each test gets a fresh engine,
// made through the EngineRegistry as larderd makes it, with a FakeClock: a memory engine, a
// RocksDB engine in a new temporary directory, or a Redis engine on a redis-server ("redis") or
// a Redis Cluster of 3 masters and 3 replicas ("redis_cluster"), each started once per test
// binary (each test under its own key prefix).
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
  return ::testing::Values("memory", "rocksdb", "redis", "redis_cluster");
}

// Names the instantiations "memory", "rocksdb", "redis", "redis_cluster".
std::string EngineName(const ::testing::TestParamInfo<std::string>& info);

// SetOptions storing `value` with its strong ETag and expiry.
SetOptions OptionsFor(absl::string_view value, absl::Time expires_at = absl::InfiniteFuture());

// A MultiSet item storing `value` with its strong ETag and `tags`. `key` and `value` must outlive
// the item.
SetItem ItemFor(absl::string_view key, absl::string_view value, std::vector<std::string> tags = {});

// Matches a SetResult with the given `stored` and `etag`.
MATCHER_P2(SetResultIs, stored, etag, "") {
  *result_listener << "stored=" << arg.stored << " etag=" << arg.etag;
  return arg.stored == stored && arg.etag == etag;
}

}  // namespace larder::storage::testing

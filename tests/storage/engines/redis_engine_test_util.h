// Helpers shared by the Redis engine's own tests (redis_engine_test.cc, redis_lease_test.cc,
// redis_upgrade_test.cc, redis_layout_test.cc): options for a test redis-server, the bucket of a
// key, a connection behind the engine's back, a Get through the pipe, and the end of the layout
// conversion.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_url.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {

using ::larder::testing::RedisServerProcess;

inline SetOptions OptionsFor(absl::string_view value) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  return options;
}

inline RedisEngineOptions OptionsOn(const RedisServerProcess& redis) {
  RedisEngineOptions options;
  options.url = redis.url();
  options.pool_size = 4;
  options.connect_timeout = absl::Milliseconds(500);
  options.command_timeout = absl::Milliseconds(500);
  return options;
}

// The bucket of key "k" in namespace "ns" under the default prefix: "larder:{ns:<n>}".
inline std::string BucketOfK() {
  return absl::StrCat("larder:{ns:", internal::Crc16("k") % RedisEngine::kBuckets, "}");
}

// A plain connection to `redis`, for what the test does behind the engine's back; `timeout` bounds
// its connect and each command.
inline std::unique_ptr<internal::RedisConnection> AdminOf(
    const RedisServerProcess& redis, absl::Duration timeout = absl::Seconds(5)) {
  absl::StatusOr<internal::RedisEndpoint> endpoint = internal::ParseRedisUrl(redis.url());
  EXPECT_OK(endpoint.status());
  auto connection = internal::RedisConnection::Open(*endpoint, timeout, timeout);
  EXPECT_OK(connection.status());
  return connection.ok() ? *std::move(connection) : nullptr;
}

// Starts an asynchronous call with `start(done)` until the engine takes it (its pipes connect in
// the background), then waits for its answer.
template <typename Result, typename Start>
absl::StatusOr<Result> ThroughThePipes(Start start) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    absl::Notification answered;
    absl::StatusOr<Result> result;
    absl::AnyInvocable<void(absl::StatusOr<Result>)&&> done = [&](absl::StatusOr<Result> answer) {
      result = std::move(answer);
      answered.Notify();
    };
    if (start(done)) {
      answered.WaitForNotification();
      return result;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError("the engine never took the call");
}

inline absl::StatusOr<std::optional<StoredEntry>> GetThroughThePipe(StorageEngine& engine,
                                                                    absl::string_view key) {
  return ThroughThePipes<std::optional<StoredEntry>>(
      [&](StorageEngine::GetCallback& done) { return engine.GetAsync("ns", key, done); });
}

inline absl::StatusOr<std::vector<std::optional<StoredEntry>>> MultiGetThroughThePipes(
    StorageEngine& engine, const std::vector<absl::string_view>& keys) {
  return ThroughThePipes<std::vector<std::optional<StoredEntry>>>(
      [&](StorageEngine::MultiGetCallback& done) {
        return engine.MultiGetAsync("ns", keys, done);
      });
}

// Polls (real time: the converter runs on its own thread) until the engine says its layout
// conversion is done, so the converter's own commands no longer reach Redis.
inline bool ConversionEnds(const RedisEngine& engine, absl::Duration within) {
  const absl::Time deadline = absl::Now() + within;
  while (absl::Now() < deadline) {
    if (engine.converted_layout()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

}  // namespace larder::storage::testing

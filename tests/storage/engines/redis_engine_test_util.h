// Helpers shared by the Redis engine's own tests (redis_engine_test.cc, redis_lease_test.cc,
// redis_upgrade_test.cc): options for a test redis-server, the bucket of a key, a connection
// behind the engine's back, and a Get through the pipe.
#pragma once

#include <memory>
#include <string>

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

// A plain connection to `redis`, for what the test does behind the engine's back.
inline std::unique_ptr<internal::RedisConnection> AdminOf(const RedisServerProcess& redis) {
  absl::StatusOr<internal::RedisEndpoint> endpoint = internal::ParseRedisUrl(redis.url());
  EXPECT_OK(endpoint.status());
  auto connection = internal::RedisConnection::Open(*endpoint, absl::Seconds(5), absl::Seconds(5));
  EXPECT_OK(connection.status());
  return connection.ok() ? *std::move(connection) : nullptr;
}

// Calls GetAsync until the engine takes the call (the pipe connects in the background) and waits
// for its answer.
inline absl::StatusOr<std::optional<StoredEntry>> GetThroughThePipe(StorageEngine& engine,
                                                                    absl::string_view key) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    absl::Notification answered;
    absl::StatusOr<std::optional<StoredEntry>> result;
    StorageEngine::GetCallback done = [&](absl::StatusOr<std::optional<StoredEntry>> entry) {
      result = std::move(entry);
      answered.Notify();
    };
    if (engine.GetAsync("ns", key, done)) {
      answered.WaitForNotification();
      return result;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError("GetAsync never took the call");
}

}  // namespace larder::storage::testing

// The memcached engine beyond the conformance suite, against two real memcached servers: the item
// size limit, keys that share a memcached key, health with servers down and Stats of the store.
#include "server/storage/memcached/memcached_engine.h"

#include <libmemcached/memcached.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/memcached/memcached_item.h"
#include "server/storage/memcached/memcached_pool.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/memcached_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::MemcachedServerProcess;
using ::testing::HasSubstr;

class MemcachedEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* server : {&first_, &second_}) {
      auto started = MemcachedServerProcess::Start();
      ASSERT_OK(started.status());
      *server = *std::move(started);
    }
    options_.servers = absl::StrCat(first_->address(), ",", second_->address());
    options_.timeout = absl::Milliseconds(250);
    ASSERT_OK_AND_ASSIGN(engine_, MemcachedEngine::Create(options_, clock_));
  }

  SetOptions OptionsFor(absl::string_view value) {
    SetOptions options;
    options.etag = StrongEtagFor(value);
    return options;
  }

  larder::testing::FakeClock clock_;
  MemcachedEngineOptions options_;
  std::unique_ptr<MemcachedServerProcess> first_, second_;
  std::unique_ptr<MemcachedEngine> engine_;
};

TEST_F(MemcachedEngineTest, ValueOverTheItemLimitIsRefusedNamingIt) {
  const std::string value(options_.max_item_bytes, 'v');
  absl::StatusOr<SetResult> result = engine_->Set("ns", "big", value, OptionsFor(value));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("--memcached-max-item-bytes"));
  const std::string fits(options_.max_item_bytes - 1024, 'v');
  EXPECT_OK(engine_->Set("ns", "fits", fits, OptionsFor(fits)).status());
}

TEST_F(MemcachedEngineTest, AnItemOfAnotherKeyUnderTheSameMemcachedKeyIsAMiss) {
  ASSERT_OK(engine_->Set("ns", "a", "of a", OptionsFor("of a")).status());
  // Copy a's item under b's memcached key, as a digest collision would leave it.
  memcached_st* memc = memcached_create(nullptr);
  memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                         MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  for (auto* server : {first_.get(), second_.get()}) {
    memcached_server_add_with_weight(memc, "127.0.0.1", static_cast<in_port_t>(server->port()), 1);
  }
  const std::string a = internal::MemcachedEntryKey(options_.key_prefix, "ns", "a");
  const std::string b = internal::MemcachedEntryKey(options_.key_prefix, "ns", "b");
  size_t size = 0;
  uint32_t flags = 0;
  memcached_return_t rc;
  char* item = memcached_get(memc, a.data(), a.size(), &size, &flags, &rc);
  ASSERT_NE(item, nullptr) << memcached_strerror(memc, rc);
  EXPECT_TRUE(memcached_success(
      memcached_set_by_key(memc, b.data(), b.size(), b.data(), b.size(), item, size, 0, 0)));
  free(item);
  memcached_free(memc);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> of_b, engine_->Get("ns", "b"));
  EXPECT_FALSE(of_b.has_value()) << of_b->value;
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> of_a, engine_->Get("ns", "a"));
  ASSERT_TRUE(of_a.has_value());
  EXPECT_EQ(of_a->value, "of a");
}

TEST_F(MemcachedEngineTest, HealthFailsOnlyWhenNoServerAnswers) {
  EXPECT_OK(engine_->CheckHealth());
  first_->Kill();
  EXPECT_OK(engine_->CheckHealth());
  EXPECT_OK(engine_->Stats("").status()) << "the live server's counts";
  second_->Kill();
  const absl::Status health = engine_->CheckHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(health.message()), HasSubstr(first_->address()));
}

TEST_F(MemcachedEngineTest, StatsOfTheStoreCountEveryServersItems) {
  for (int i = 0; i < 20; ++i) {
    const std::string key = absl::StrCat("k", i);
    ASSERT_OK(engine_->Set("ns", key, "v", OptionsFor("v")).status());
  }
  ASSERT_OK_AND_ASSIGN(EngineStats all, engine_->Stats(""));
  EXPECT_GE(all.entries, 20);  // The entries and the generation counters.
  EXPECT_GT(all.bytes, 0);
  ASSERT_OK_AND_ASSIGN(EngineStats ns, engine_->Stats("ns"));
  EXPECT_EQ(ns.entries, 0) << "memcached cannot count a namespace's entries";
}

}  // namespace
}  // namespace larder::storage

// The memcached engine's leases under concurrent callers on two engines (two larderds) sharing two
// real memcached servers: Lease, Set with and without token, Delete and Invalidate racing on a
// few keys, each Set with a token made through either engine. What must hold whatever the
// interleaving: a lease stores at most once, one grant per key while a lease lasts, and no value
// stored under a lease survives a voider that began after that lease was granted.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/storage/memcached/memcached_engine.h"
#include "tests/storage/engines/memcached_test_util.h"
#include "tests/storage/lease_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using testing::Plain;
using testing::SharedMemcachedServers;

constexpr int kThreads = 6;
constexpr int kEpochs = 60;  // Each ends with every caller done and the keys checked.
constexpr int kRounds = 8;   // Per caller and epoch.
constexpr int kKeys = 3;

class LeaseRace {
 public:
  explicit LeaseRace(std::array<StorageEngine*, 2> engines) : engines_(engines) {}

  // One caller's loop in `epoch`, through engine `seed % 2`; `seed` varies what it does between
  // rounds.
  void Run(int epoch, int seed) {
    StorageEngine& engine = *engines_[seed % 2];
    for (int round = epoch * kRounds; round < (epoch + 1) * kRounds; ++round) {
      const int key = (round + seed) % kKeys;
      const std::string name = absl::StrCat("k", key);
      switch ((round * 7 + seed) % 10) {
        case 0:
          Voiding(key);
          ASSERT_OK(engine.Delete("ns", name).status());
          break;
        case 1:
          for (int k = 0; k < kKeys; ++k) Voiding(k);
          ASSERT_OK(engine.Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).status());
          break;
        case 2: {
          const std::string value = absl::StrCat("plain-", Voiding(key));
          ASSERT_OK(engine.Set("ns", name, value, Plain(value)).status());
          break;
        }
        default:
          LeaseAndFill(engine, name, round + seed);
      }
    }
  }

  // Once every caller is done: no key holds a leased value older than a voider of it.
  void CheckNoStaleValue() {
    for (int key = 0; key < kKeys; ++key) {
      ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry,
                           engines_[0]->Get("ns", absl::StrCat("k", key)));
      if (!entry.has_value()) continue;
      absl::string_view value = entry->value;
      int64_t granted = 0;
      if (!absl::ConsumePrefix(&value, "leased-")) continue;
      ASSERT_TRUE(absl::SimpleAtoi(value, &granted)) << entry->value;
      EXPECT_GT(granted, last_voider_[key].load())
          << "k" << key << " holds " << entry->value << ", granted before a voider began";
    }
  }

  int64_t grants() const { return grants_.load(); }
  int64_t fills() const { return fills_.load(); }
  int64_t double_fills() const { return double_fills_.load(); }

 private:
  // A voider of `key` begins: its place in the sequence.
  int64_t Voiding(int key) {
    const int64_t at = ++sequence_;
    int64_t last = last_voider_[key].load();
    while (last < at && !last_voider_[key].compare_exchange_weak(last, at)) {
    }
    return at;
  }

  void LeaseAndFill(StorageEngine& engine, const std::string& key, int turn) {
    absl::StatusOr<LeaseResult> lease = engine.Lease("ns", key, absl::Seconds(5));
    ASSERT_OK(lease.status());
    if (lease->token.empty()) return;
    const int64_t granted = ++sequence_;  // After the grant: a later voider voids it.
    grants_.fetch_add(1);
    // Computing the value takes a while: here, a read.
    ASSERT_OK(engine.Get("ns", key).status());
    const std::string value = absl::StrCat("leased-", granted);
    SetOptions options = Plain(value);
    options.lease_token = lease->token;
    // Through either engine, then again through the other.
    absl::StatusOr<SetResult> first = engines_[turn % 2]->Set("ns", key, value, options);
    ASSERT_OK(first.status());
    if (first->stored) fills_.fetch_add(1);
    absl::StatusOr<SetResult> again = engines_[(turn + 1) % 2]->Set("ns", key, value, options);
    ASSERT_OK(again.status());
    if (again->stored) double_fills_.fetch_add(1);
  }

  const std::array<StorageEngine*, 2> engines_;
  std::atomic<int64_t> sequence_{0};
  std::array<std::atomic<int64_t>, kKeys> last_voider_{};
  std::atomic<int64_t> grants_{0}, fills_{0}, double_fills_{0};
};

class MemcachedLeaseRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemcachedEngineOptions options;
    options.servers = SharedMemcachedServers();
    ASSERT_FALSE(options.servers.empty()) << "memcached did not start";
    static std::atomic<int> next{0};
    options.key_prefix = absl::StrCat("lease-race-", getpid(), "-", next++, ":");
    options.pool_size = kThreads;
    for (auto* engine : {&first_, &second_}) {
      ASSERT_OK_AND_ASSIGN(*engine, MemcachedEngine::Create(options, clock_));
    }
  }

  larder::testing::FakeClock clock_;  // Never moves: no lease ends by time.
  std::unique_ptr<MemcachedEngine> first_, second_;
};

TEST_F(MemcachedLeaseRaceTest, ALeaseStoresAtMostOnceAndNeverAfterAVoider) {
  LeaseRace race({first_.get(), second_.get()});
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&race, epoch, t] { race.Run(epoch, t); });
    }
    for (std::thread& thread : threads) thread.join();
    race.CheckNoStaleValue();
  }
  RecordProperty("grants", static_cast<int>(race.grants()));
  RecordProperty("fills", static_cast<int>(race.fills()));
  EXPECT_GT(race.grants(), 0);
  EXPECT_GT(race.fills(), 0);
  EXPECT_LE(race.fills(), race.grants());
  EXPECT_EQ(race.double_fills(), 0) << "a token stored twice";
}

TEST_F(MemcachedLeaseRaceTest, OneGrantPerKeyAcrossBothEnginesWhileTheLeaseLasts) {
  const testing::HotKeyLeases leases = testing::LeaseHotKeyConcurrently(
      kThreads, 100, [this](int t) -> StorageEngine& { return t % 2 == 0 ? *first_ : *second_; });
  EXPECT_EQ(leases.granted, 1) << "the clock never moves: the first lease lasts";
  EXPECT_EQ(leases.waited, kThreads * 100 - 1);
}

}  // namespace
}  // namespace larder::storage

// LeasingEngine under concurrent callers (memory engine, real threads): Lease, Set with and
// without token, Delete and Invalidate racing on a few keys. Run under ThreadSanitizer in CI
// (label "unit"); here it checks what must hold whatever the interleaving: a lease stores at most
// once, and no lease ever stores after a Set without its token landed on the key.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/storage/leasing_engine.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/storage/lease_test_util.h"
#include "tests/testing/fake_clock.h"

namespace larder::storage {
namespace {

using testing::Plain;

constexpr int kThreads = 6;
constexpr int kRounds = 1500;
constexpr int kKeys = 3;

class LeaseRace {
 public:
  explicit LeaseRace(StorageEngine& engine) : engine_(engine) {}

  // One caller's loop; `seed` varies what it does between rounds.
  void Run(int seed) {
    for (int round = 0; round < kRounds; ++round) {
      const std::string key = absl::StrCat("k", (round + seed) % kKeys);
      switch ((round * 7 + seed) % 10) {
        case 0:
          ASSERT_TRUE(engine_.Delete("ns", key).ok());
          break;
        case 1:
          ASSERT_TRUE(engine_.Invalidate("ns", {InvalidateTarget::Kind::kAll, ""}).ok());
          break;
        case 2:
          ASSERT_TRUE(engine_.Set("ns", key, "plain", Plain("plain")).ok());
          break;
        default:
          LeaseAndFill(key);
      }
    }
  }

  int64_t grants() const { return grants_.load(); }
  int64_t fills() const { return fills_.load(); }
  int64_t double_fills() const { return double_fills_.load(); }

 private:
  void LeaseAndFill(const std::string& key) {
    absl::StatusOr<LeaseResult> lease = engine_.Lease("ns", key, absl::Seconds(5));
    ASSERT_TRUE(lease.ok()) << lease.status();
    if (lease->token.empty()) return;
    grants_.fetch_add(1);
    SetOptions options = Plain("leased");
    options.lease_token = lease->token;
    absl::StatusOr<SetResult> first = engine_.Set("ns", key, "leased", options);
    ASSERT_TRUE(first.ok());
    if (first->stored) fills_.fetch_add(1);
    absl::StatusOr<SetResult> again = engine_.Set("ns", key, "leased", options);
    ASSERT_TRUE(again.ok());
    if (again->stored) double_fills_.fetch_add(1);
  }

  StorageEngine& engine_;
  std::atomic<int64_t> grants_{0}, fills_{0}, double_fills_{0};
};

TEST(LeasingEngineRaceTest, ALeaseStoresAtMostOnceWhateverRunsBesideIt) {
  larder::testing::FakeClock clock;
  MemoryEngineOptions memory;
  memory.sweep_interval = absl::ZeroDuration();
  std::unique_ptr<StorageEngine> engine =
      WithLeases(std::move(MemoryEngine::Create(memory, clock)).value(), LeaseOptions{}, clock);
  LeaseRace race(*engine);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&race, t] { race.Run(t); });
  for (std::thread& thread : threads) thread.join();
  EXPECT_GT(race.grants(), 0);
  EXPECT_LE(race.fills(), race.grants());
  EXPECT_EQ(race.double_fills(), 0) << "a token stored twice";
}

TEST(LeasingEngineRaceTest, OneGrantPerKeyWhileTheLeaseLasts) {
  larder::testing::FakeClock clock;
  MemoryEngineOptions memory;
  memory.sweep_interval = absl::ZeroDuration();
  std::unique_ptr<StorageEngine> engine =
      WithLeases(std::move(MemoryEngine::Create(memory, clock)).value(), LeaseOptions{}, clock);
  const testing::HotKeyLeases leases = testing::LeaseHotKeyConcurrently(
      kThreads, 200, [&engine](int) -> StorageEngine& { return *engine; });
  EXPECT_EQ(leases.granted, 1) << "the clock never moves: the first lease lasts";
  EXPECT_EQ(leases.waited, kThreads * 200 - 1);
}

}  // namespace
}  // namespace larder::storage

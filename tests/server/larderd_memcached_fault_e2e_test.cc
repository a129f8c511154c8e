// End to end, a memcached server that dies: the real larderd on the memcached engine over two
// real memcached servers, under a load of Set-then-Get rounds from a few client threads, while
// one server is killed with SIGKILL, then the other, then both are restarted (empty). Asserted:
// with one server dead, the keys written before keep answering, those of the dead server as
// misses and the others with their values, so neither side is empty; no Get fails; Sets of the
// live server's keys succeed; no call outlives its deadline; health of larder.v1.Cache stays
// SERVING. With both dead it goes NOT_SERVING. Restarted, larderd serves again without being
// restarted itself: health SERVING and every client's round trip succeeds within a bound. Also:
// an Invalidate by prefix, which memcached cannot do, is FAILED_PRECONDITION and changes nothing.
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/cache_calls.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/memcached_server.h"
#include "tests/testing/rpc_load.h"

namespace larder {
namespace {

using ::larder::testing::CacheCalls;
using ::larder::testing::Call;
using ::larder::testing::HealthState;
using ::larder::testing::LarderdProcess;
using ::larder::testing::MemcachedServerProcess;

constexpr absl::Duration kDeadline = absl::Seconds(2);
constexpr absl::Duration kSlack = absl::Milliseconds(250);
constexpr int kKeptEntries = 200;
constexpr int kClients = 3;
constexpr absl::Duration kBound = absl::Seconds(10);
constexpr char kNamespace[] = "fault";
constexpr char kReadiness[] = "larder.v1.Cache";

std::string KeptKey(int i) { return absl::StrCat("kept-", i); }
std::string KeptValue(int i) { return absl::StrCat("written before the kill #", i); }

// kClients threads each storing a fresh key and reading it back, until destroyed. Counts what
// came back; records any call that outlived its deadline or a Get that failed or answered
// other bytes than were stored.
class Load {
 public:
  explicit Load(const std::shared_ptr<grpc::Channel>& channel) {
    for (int client = 0; client < kClients; ++client) {
      threads_.emplace_back([this, channel, client] { Run(channel, client); });
    }
  }
  ~Load() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
  }
  int rounds() const { return rounds_; }
  int stored() const { return stored_; }
  std::vector<std::string> problems() {
    absl::MutexLock lock(&mutex_);
    return problems_;
  }

 private:
  void Run(const std::shared_ptr<grpc::Channel>& channel, int client) {
    CacheCalls cache(channel, kNamespace, kDeadline, client);
    for (int round = 0; !stop_; ++round) {
      const std::string key = absl::StrCat("load-", client, "-", round);
      const Call set = cache.Set(key, key);
      v1::GetResponse got;
      const Call get = cache.Get(key, &got);
      ++rounds_;
      if (set.code == grpc::StatusCode::OK) ++stored_;
      for (const Call& call : {set, get}) {
        if (call.end - call.start > kDeadline + kSlack) Problem(Describe(call));
      }
      if (get.code != grpc::StatusCode::OK) Problem(Describe(get));
      if (got.found() && got.value() != key) Problem(absl::StrCat("wrong value for ", key));
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  void Problem(std::string what) {
    absl::MutexLock lock(&mutex_);
    if (problems_.size() < 20) problems_.push_back(std::move(what));
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0}, stored_{0};
  absl::Mutex mutex_;
  std::vector<std::string> problems_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

// Polls health until it is `want` or kBound passes; true when it was.
bool HealthBecomes(const std::shared_ptr<grpc::Channel>& channel, HealthState want) {
  const absl::Time deadline = absl::Now() + kBound;
  while (absl::Now() < deadline) {
    absl::StatusOr<HealthState> state = testing::CheckHealth(channel, kReadiness);
    if (state.ok() && *state == want) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// How many kept keys answer with their value; fails the test on an error or a wrong value.
int KeptHits(CacheCalls& cache) {
  int hits = 0;
  for (int i = 0; i < kKeptEntries; ++i) {
    v1::GetResponse got;
    const Call get = cache.Get(KeptKey(i), &got);
    EXPECT_EQ(get.code, grpc::StatusCode::OK) << Describe(get);
    if (got.found()) {
      EXPECT_EQ(got.value(), KeptValue(i));
      ++hits;
    }
  }
  return hits;
}

// memcached cannot list keys: an Invalidate by prefix is refused and changes nothing.
void ExpectPrefixInvalidationRefused(CacheCalls& cache) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
  v1::InvalidateRequest request;
  request.set_namespace_(kNamespace);
  request.set_prefix("kept-");
  v1::InvalidateResponse response;
  const grpc::Status status = cache.stub().Invalidate(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("Invalidate by prefix"));
  EXPECT_EQ(KeptHits(cache), kKeptEntries) << "a refused invalidation changes nothing";
}

// True once 20 fresh Set-then-Get round trips all succeed, within kBound.
bool ServedAgain(CacheCalls& cache) {
  const absl::Time until = absl::Now() + kBound;
  bool served = false;
  while (!served && absl::Now() < until) {
    served = true;
    for (int i = 0; i < 20 && served; ++i) {
      const std::string key = absl::StrCat("back-", i);
      v1::GetResponse got;
      served = cache.Set(key, key).code == grpc::StatusCode::OK &&
               cache.Get(key, &got).code == grpc::StatusCode::OK && got.value() == key;
    }
    if (!served) absl::SleepFor(absl::Milliseconds(100));
  }
  return served;
}

// With one server dead: the kept keys answer OK, some hits and some misses; Sets of the live
// server's keys go on succeeding; health stays SERVING; the load saw no problem.
void ExpectOnlyTheDeadServersKeysMiss(const std::shared_ptr<grpc::Channel>& channel,
                                      CacheCalls& cache, Load& load) {
  const int hits = KeptHits(cache);
  std::cout << "one server dead: " << hits << " of " << kKeptEntries << " kept keys served"
            << std::endl;
  EXPECT_GT(hits, 0) << "the live server's keys are still served";
  EXPECT_LT(hits, kKeptEntries) << "the dead server's keys miss";
  const int stored_before = load.stored();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_GT(load.stored(), stored_before) << "Sets of the live server's keys succeed";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(testing::CheckHealth(channel, kReadiness).value_or(HealthState::kUnknown),
              HealthState::kServing);
    absl::SleepFor(absl::Milliseconds(100));
  }

  for (const std::string& problem : load.problems()) ADD_FAILURE() << problem;
  EXPECT_GT(load.rounds(), 0);
}

TEST(LarderdMemcachedFaultTest, ADeadServerCostsOnlyItsKeysAndServiceResumesWhenBack) {
  auto first = MemcachedServerProcess::Start();
  auto second = MemcachedServerProcess::Start();
  ASSERT_TRUE(first.ok() && second.ok());
  auto larderd = LarderdProcess::Start(
      {"--engine=memcached",
       absl::StrCat("--memcached-servers=", (*first)->address(), ",", (*second)->address()),
       "--memcached-timeout=250ms", "--health-check-interval=100ms"});
  ASSERT_TRUE(larderd.ok()) << larderd.status();
  const std::shared_ptr<grpc::Channel> channel = (*larderd)->channel();
  CacheCalls cache(channel, kNamespace, kDeadline);
  for (int i = 0; i < kKeptEntries; ++i) {
    const Call set = cache.Set(KeptKey(i), KeptValue(i));
    ASSERT_EQ(set.code, grpc::StatusCode::OK) << Describe(set);
  }
  ASSERT_EQ(KeptHits(cache), kKeptEntries);
  ExpectPrefixInvalidationRefused(cache);

  auto load = std::make_unique<Load>(channel);
  absl::SleepFor(absl::Milliseconds(300));
  (*first)->Kill();
  absl::SleepFor(absl::Milliseconds(500));  // Let the load meet the dead server.
  ExpectOnlyTheDeadServersKeysMiss(channel, cache, *load);
  const int rounds = load->rounds(), stored = load->stored();

  (*second)->Kill();
  EXPECT_TRUE(HealthBecomes(channel, HealthState::kNotServing));
  load.reset();

  ASSERT_TRUE((*first)->Restart().ok());
  ASSERT_TRUE((*second)->Restart().ok());
  EXPECT_TRUE(HealthBecomes(channel, HealthState::kServing));
  EXPECT_TRUE(ServedAgain(cache)) << "every round trip succeeds once both servers are back";
  std::cout << "load rounds: " << rounds << ", stores that succeeded: " << stored << std::endl;
}

}  // namespace
}  // namespace larder

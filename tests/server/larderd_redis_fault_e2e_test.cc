// End to end, a Redis that hangs: the real larderd on the Redis engine, with short Redis timeouts,
// under a bounded load from a few client threads while the real redis-server is frozen with
// SIGSTOP and later resumed with SIGCONT. A frozen Redis is the hard outage for a cache: TCP
// still connects and takes in commands, only no reply ever comes, so every wait must be bounded
// by larderd's own timeouts. Asserted: every call made while Redis is frozen fails within its
// deadline with UNAVAILABLE; larderd stays alive, answers what needs no Redis and reports
// NOT_SERVING for larder.v1.Cache; after SIGCONT, without restarting larderd, every client's
// Set-then-Get round trip succeeds within a bounded time and the data written before the freeze
// is still there.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/cache_calls.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/rpc_load.h"

namespace larder {
namespace {

using ::larder::testing::CacheCalls;
using ::larder::testing::Call;
using ::larder::testing::HealthState;
using ::larder::testing::LarderdProcess;
using ::larder::testing::RedisServerProcess;

// larderd's --redis-timeout: the connect and the command timeout of every Redis connection.
constexpr absl::Duration kRedisTimeout = absl::Milliseconds(250);
// The deadline of every call, chosen so that UNAVAILABLE is the only right answer while Redis is
// frozen. A correct larderd answers a call that needs Redis within
//     waiting for a free pool connection     <= connect + command timeout
//   + opening one (TCP connect; SCRIPT LOAD)  <= connect + command timeout
//   + the command itself                      <= command timeout
//   = 5 x 250 ms = 1.25 s (and the first term is zero here: a pool of 8 serves at most 7 users,
// 4 storage threads, 2 namespace-op threads and the health check). A deadline shorter than that
// could legitimately expire first (DEADLINE_EXCEEDED); 2 s leaves 0.75 s for a busy machine, so
// a DEADLINE_EXCEEDED here means a call waited on Redis past larderd's own timeouts.
constexpr absl::Duration kDeadline = absl::Seconds(2);
// Scheduling latency of the client itself, beyond the deadline gRPC enforces.
constexpr absl::Duration kSlack = absl::Milliseconds(250);
constexpr int kClients = 4;
constexpr absl::Duration kPacing = absl::Milliseconds(5);  // Between one client's rounds.
constexpr int kKeptEntries = 16;                           // Written before the freeze.
constexpr int kCallsWhileFrozen = 20;                      // At least, per client.
// The freeze lasts past the pool's longest reconnection backoff (2 s).
constexpr absl::Duration kFreezeAtLeast = absl::Seconds(3);
// After SIGCONT: the pool's longest backoff (2 s), one reconnection, one health check, with room.
constexpr absl::Duration kRecoveryBound = absl::Seconds(10);
constexpr char kNamespace[] = "fault";
// larderd's readiness service follows the engine's CheckHealth (a PING through the pool); the
// liveness service "" stays SERVING, since restarting larderd would not bring Redis back.
constexpr char kReadiness[] = "larder.v1.Cache";

std::string KeptKey(int i) { return absl::StrCat("kept-", i); }
std::string KeptValue(int i) { return absl::StrCat("written before the freeze #", i); }

// From the moment every thread of redis-server is stopped to the moment SIGCONT is sent.
struct Window {
  absl::Time begin;
  absl::Time end;
  bool Holds(const Call& call) const { return call.start >= begin && call.end <= end; }
};

// kClients threads, each running Set, Get, MultiGet, Delete on a fresh key per round (so a write
// Redis takes in while frozen and applies after SIGCONT can never touch a key read later), one
// call at a time, kPacing apart, until destroyed. Every call is recorded; an OK answer with
// other bytes than were stored is recorded as a wrong answer.
class FaultLoad : public testing::CallLog {
 public:
  explicit FaultLoad(const std::shared_ptr<grpc::Channel>& channel)
      : CallLog(kClients),
        clients_(CacheCalls::ForClients(channel, kNamespace, kDeadline, kClients)),
        threads_(kClients, kPacing, [this](int client, int round) { RunRound(client, round); }) {}

  std::vector<std::string> wrong_answers() const ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    return wrong_answers_;
  }

 private:
  void RunRound(int client, int round);
  void Wrong(std::string what) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    wrong_answers_.push_back(std::move(what));
  }

  std::vector<CacheCalls> clients_;  // One per client thread.
  mutable absl::Mutex mutex_;
  std::vector<std::string> wrong_answers_ ABSL_GUARDED_BY(mutex_);
  testing::LoadThreads threads_;  // Last: joined before the members its rounds use go.
};

void FaultLoad::RunRound(int client, int round) {
  CacheCalls& cache = clients_[client];
  const std::string key = absl::StrCat("load-", client, "-", round);
  const std::string value = absl::StrCat("value of ", key);
  const Call set = cache.Set(key, value);
  const bool stored = Record(set);
  v1::GetResponse got;
  if (Record(cache.Get(key, &got)) && stored) {
    if (got.value() == value) {
      RoundTripped(client, set.start);
    } else {
      Wrong(absl::StrCat(key, ": Get answered \"", got.value(), "\""));
    }
  }
  v1::MultiGetResponse both;
  if (Record(cache.MultiGet({key, KeptKey(0)}, &both))) {
    if (both.results_size() != 2 || both.results(1).value() != KeptValue(0) ||
        (stored && both.results(0).value() != value)) {
      Wrong(absl::StrCat(key, ": MultiGet answered ", both.ShortDebugString()));
    }
  }
  Record(cache.Delete(key));
}

// The calls that broke a rule, described: any call slower than its deadline (+ slack) or
// answered other than OK / UNAVAILABLE, and any call made entirely while Redis was frozen
// (`frozen` holds it) answered other than UNAVAILABLE.
std::vector<std::string> Violations(const std::vector<Call>& calls, Window frozen) {
  std::vector<std::string> violations;
  for (const Call& call : calls) {
    const bool while_frozen = frozen.Holds(call);
    if (call.end - call.start > kDeadline + kSlack) {
      violations.push_back(absl::StrCat("too slow: ", Describe(call)));
    } else if (while_frozen && call.code != grpc::StatusCode::UNAVAILABLE) {
      violations.push_back(absl::StrCat("while frozen, not UNAVAILABLE: ", Describe(call)));
    } else if (call.code != grpc::StatusCode::OK && call.code != grpc::StatusCode::UNAVAILABLE) {
      violations.push_back(absl::StrCat("neither OK nor UNAVAILABLE: ", Describe(call)));
    }
  }
  return violations;
}

// Latencies of the calls made entirely while Redis was frozen, sorted.
std::vector<absl::Duration> FrozenLatencies(const std::vector<Call>& calls, Window frozen) {
  std::vector<absl::Duration> latencies;
  for (const Call& call : calls) {
    if (frozen.Holds(call)) latencies.push_back(call.end - call.start);
  }
  std::sort(latencies.begin(), latencies.end());
  return latencies;
}

class RedisFaultE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto server = LarderdProcess::Start({"--engine=redis", "--redis-url=" + redis_->url(),
                                         "--redis-timeout=" + absl::FormatDuration(kRedisTimeout),
                                         "--redis-pool-size=8", "--storage-threads=4",
                                         "--health-check-interval=100ms"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    cache_ = std::make_unique<CacheCalls>(server_->channel(), kNamespace, kDeadline);
  }
  void TearDown() override {
    cache_.reset();  // An open client connection would slow the server's shutdown.
    server_.reset();
    redis_.reset();
  }

  void Figure(const std::string& name, absl::Duration value) {
    RecordProperty(name, absl::StrCat(absl::ToInt64Milliseconds(value)));
    std::cout << "[ figure   ] " << name << " = " << absl::FormatDuration(value) << std::endl;
  }

  // Polls readiness for up to 10 s until it is `wanted`; each probe itself must answer within
  // its deadline.
  bool ReadinessBecomes(HealthState wanted) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      const absl::Time asked = absl::Now();
      absl::StatusOr<HealthState> state =
          testing::CheckHealth(server_->channel(), kReadiness, kDeadline);
      EXPECT_TRUE(state.ok()) << state.status();
      EXPECT_LE(absl::Now() - asked, kDeadline + kSlack);
      if (state.ok() && *state == wanted) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  void WriteKeptEntries() {
    for (int i = 0; i < kKeptEntries; ++i) {
      const Call set = cache_->Set(KeptKey(i), KeptValue(i));
      ASSERT_EQ(set.code, grpc::StatusCode::OK) << Describe(set);
    }
  }

  void ExpectKeptEntries() {
    std::vector<std::string> keys;
    for (int i = 0; i < kKeptEntries; ++i) keys.push_back(KeptKey(i));
    v1::MultiGetResponse got;
    const Call call = cache_->MultiGet(keys, &got);
    ASSERT_EQ(call.code, grpc::StatusCode::OK) << Describe(call);
    ASSERT_EQ(got.results_size(), kKeptEntries);
    for (int i = 0; i < kKeptEntries; ++i) EXPECT_EQ(got.results(i).value(), KeptValue(i)) << i;
  }

  // While Redis is frozen: what needs no Redis answers at once, what needs it fails fast.
  void ExpectAnswersWithoutRedis() {
    absl::Time asked = absl::Now();
    EXPECT_EQ(testing::CheckHealth(server_->channel(), "", kDeadline).value_or(HealthState{}),
              HealthState::kServing)
        << "liveness must not follow Redis";
    EXPECT_LE(absl::Now() - asked, kDeadline + kSlack);
    v1::GetResponse got;
    const Call invalid = cache_->Get("", &got);  // Refused before the engine.
    EXPECT_EQ(invalid.code, grpc::StatusCode::INVALID_ARGUMENT) << Describe(invalid);
    EXPECT_LE(invalid.end - invalid.start, kDeadline + kSlack) << "a storage thread is stuck";
    v1::StatsResponse stats;
    const Call stats_call = cache_->Stats(&stats);
    EXPECT_EQ(stats_call.code, grpc::StatusCode::UNAVAILABLE) << Describe(stats_call);
    EXPECT_LE(stats_call.end - stats_call.start, kDeadline + kSlack);
  }

  // Freezes Redis under `load` for at least kFreezeAtLeast, checking larderd meanwhile; sets
  // frozen.begin once every thread of redis-server is stopped.
  void FreezeRedisUnder(FaultLoad& load, Window& frozen) {
    const absl::Status paused = redis_->Pause();
    ASSERT_TRUE(paused.ok()) << paused;
    frozen.begin = absl::Now();
    ExpectAnswersWithoutRedis();
    ASSERT_TRUE(ReadinessBecomes(HealthState::kNotServing))
        << "readiness stayed SERVING while Redis was frozen";
    Figure("not_serving_after_freeze_ms", absl::Now() - frozen.begin);
    EXPECT_THAT(server_->process().LogTail(1 << 16),
                ::testing::HasSubstr("readiness service=larder.v1.Cache status=NOT_SERVING"));
    ASSERT_TRUE(load.AwaitCalls(frozen.begin, kCallsWhileFrozen, absl::Seconds(30)))
        << "a client thread stopped making calls while Redis was frozen";
    ASSERT_TRUE(load.AwaitCalls(frozen.begin + kFreezeAtLeast, 1, absl::Seconds(30)))
        << "a client thread stopped making calls while Redis was frozen";
  }

  // Resumes Redis (frozen.end is just before SIGCONT) and waits for every client to round-trip.
  void ResumeRedisUnder(FaultLoad& load, Window& frozen) {
    frozen.end = absl::Now();
    const absl::Status continued = redis_->Resume();
    ASSERT_TRUE(continued.ok()) << continued;
    ASSERT_TRUE(load.AwaitRoundTrips(frozen.end, kRecoveryBound))
        << "a client found no working round trip within " << kRecoveryBound << " of SIGCONT";
    Figure("every_client_round_trip_after_resume_ms", absl::Now() - frozen.end);
  }

  void ExpectEveryCallWithinTheRules(const std::vector<Call>& calls, Window frozen) {
    const std::vector<std::string> violations = Violations(calls, frozen);
    EXPECT_TRUE(violations.empty())
        << violations.size() << " of " << calls.size() << " calls:\n"
        << absl::StrJoin(violations.begin(),
                         violations.begin() + std::min<size_t>(violations.size(), 20), "\n");
    const std::vector<absl::Duration> latencies = FrozenLatencies(calls, frozen);
    ASSERT_GE(latencies.size(), size_t{kClients * kCallsWhileFrozen});
    const auto slow = std::count_if(latencies.begin(), latencies.end(),
                                    [](absl::Duration d) { return d >= kRedisTimeout / 2; });
    RecordProperty("calls_while_frozen", static_cast<int>(latencies.size()));
    RecordProperty("calls_while_frozen_waiting_on_redis", static_cast<int>(slow));
    std::cout << "[ figure   ] calls_while_frozen = " << latencies.size() << ", of which " << slow
              << " waited on a Redis timeout" << std::endl;
    Figure("median_latency_while_frozen_ms", latencies[latencies.size() / 2]);
    Figure("max_latency_while_frozen_ms", latencies.back());
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<CacheCalls> cache_;
};

TEST_F(RedisFaultE2eTest, FrozenRedisFailsFastThenServiceReturnsWithoutRestart) {
  ASSERT_NO_FATAL_FAILURE(WriteKeptEntries());
  ASSERT_EQ(testing::CheckHealth(server_->channel(), kReadiness).value_or(HealthState{}),
            HealthState::kServing);
  Window frozen;
  std::vector<Call> calls;
  {
    FaultLoad load(server_->channel());
    ASSERT_TRUE(load.AwaitRoundTrips(absl::Now(), absl::Seconds(10))) << "the load never ran";
    ASSERT_NO_FATAL_FAILURE(FreezeRedisUnder(load, frozen));
    ASSERT_NO_FATAL_FAILURE(ResumeRedisUnder(load, frozen));
    EXPECT_THAT(load.wrong_answers(), ::testing::IsEmpty());
    calls = load.calls();
  }
  ASSERT_TRUE(ReadinessBecomes(HealthState::kServing)) << "readiness stayed NOT_SERVING";
  EXPECT_THAT(server_->process().LogTail(1 << 16),
              ::testing::HasSubstr("readiness service=larder.v1.Cache status=SERVING"));
  Figure("serving_after_resume_ms", absl::Now() - frozen.end);
  ExpectKeptEntries();
  v1::StatsResponse stats;
  const Call stats_call = cache_->Stats(&stats);
  EXPECT_EQ(stats_call.code, grpc::StatusCode::OK) << Describe(stats_call);
  EXPECT_FALSE(server_->process().WaitForExit(absl::ZeroDuration(), nullptr))
      << "larderd exited: " << server_->process().LogTail();
  ExpectEveryCallWithinTheRules(calls, frozen);
}

}  // namespace
}  // namespace larder

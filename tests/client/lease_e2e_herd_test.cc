// Leases end to end, the thundering herd: 20 real processes (lease_e2e_herd_child) call one
// larder::Cached function on the same new key at the same instant, 50 rounds in a row. With
// CachedOptions::fleet_single_flight the function runs exactly once per round across the
// fleet, on one larderd, on two larderd replicas sharing one redis-server and on two sharing two
// memcached servers; without it, it
// runs once per process that misses, which shows the assertion can fail.
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/lease_e2e_harness.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/memcached_server.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {
namespace {

constexpr int kProcesses = 20;
constexpr int kRounds = 50;

HerdOptions Herd(std::vector<std::string> targets, bool leases) {
  HerdOptions herd;
  herd.targets = std::move(targets);
  herd.processes = kProcesses;
  herd.rounds = kRounds;
  herd.period = absl::Milliseconds(250);
  herd.compute = absl::Milliseconds(50);
  herd.leases = leases;
  return herd;
}

int Total(const std::vector<int>& runs_per_round) {
  return std::accumulate(runs_per_round.begin(), runs_per_round.end(), 0);
}

// Prints the figures and records them as test properties (--gtest_output=xml:FILE).
void Report(const HerdOutcome& outcome) {
  const std::string distribution = Distribution(outcome.runs_per_round);
  std::cout << "runs per round: " << distribution << " (total " << Total(outcome.runs_per_round)
            << " runs, " << outcome.calls.size() << " calls)\n";
  ::testing::Test::RecordProperty("runs_per_round", distribution);
  ::testing::Test::RecordProperty("total_runs", Total(outcome.runs_per_round));
  if (!outcome.child_errors.empty()) std::cout << "children's stderr:\n" << outcome.child_errors;
}

// Every round ran the function once, and every call of every process got that run's value.
void ExpectOneRunPerRound(const HerdOutcome& outcome) {
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(outcome.runs_per_round[static_cast<size_t>(round)], 1) << "round " << round;
  }
  EXPECT_EQ(outcome.calls.size(), static_cast<size_t>(kProcesses * kRounds));
  EXPECT_EQ(CallsWithoutARunsValue(outcome.runs, outcome.calls), 0);
}

TEST(LeaseHerdE2eTest, OneLarderdRunsTheFunctionOncePerRound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  ASSERT_OK_AND_ASSIGN(HerdOutcome outcome, RunHerd(Herd({server->grpc_address()}, true)));
  Report(outcome);
  ExpectOneRunPerRound(outcome);
}

// The herd dealt over two larderd replicas started with `args` (sharing one backend).
void ExpectOneRunPerRoundOnTwoReplicas(const std::vector<std::string>& args) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> first, LarderdProcess::Start(args));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> second, LarderdProcess::Start(args));
  ASSERT_OK_AND_ASSIGN(HerdOutcome outcome,
                       RunHerd(Herd({first->grpc_address(), second->grpc_address()}, true)));
  Report(outcome);
  ExpectOneRunPerRound(outcome);
}

TEST(LeaseHerdE2eTest, TwoReplicasOnOneRedisRunTheFunctionOncePerRound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServerProcess> redis, RedisServerProcess::Start());
  ExpectOneRunPerRoundOnTwoReplicas({"--engine=redis", "--redis-url=" + redis->url()});
}

TEST(LeaseHerdE2eTest, TwoReplicasOnTwoMemcachedServersRunTheFunctionOncePerRound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemcachedServerProcess> one,
                       MemcachedServerProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemcachedServerProcess> two,
                       MemcachedServerProcess::Start());
  ExpectOneRunPerRoundOnTwoReplicas(
      {"--engine=memcached", "--memcached-servers=" + one->address() + "," + two->address()});
}

// The control: the same herd without leases. Each process's in-process single-flight cannot see
// the others, so every process that looks up before the first result is stored runs the
// function.
TEST(LeaseHerdE2eTest, WithoutLeasesTheHerdRunsTheFunctionManyTimes) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  ASSERT_OK_AND_ASSIGN(HerdOutcome outcome, RunHerd(Herd({server->grpc_address()}, false)));
  Report(outcome);
  int rounds_with_more_than_one = 0;
  for (int runs : outcome.runs_per_round) rounds_with_more_than_one += runs > 1 ? 1 : 0;
  std::cout << "rounds that ran the function more than once: " << rounds_with_more_than_one
            << " of " << kRounds << "\n";
  EXPECT_GT(Total(outcome.runs_per_round), kRounds);
  EXPECT_GT(rounds_with_more_than_one, kRounds / 2);
  EXPECT_EQ(outcome.calls.size(), static_cast<size_t>(kProcesses * kRounds));
  EXPECT_EQ(CallsWithoutARunsValue(outcome.runs, outcome.calls), 0);
}

}  // namespace
}  // namespace larder::testing

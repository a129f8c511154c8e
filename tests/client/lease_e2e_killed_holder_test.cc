// Leases end to end, the killed holder: process A misses, gets the lease and never finishes its
// computation; the test SIGKILLs it 500 ms later. Process B's cached call then waits out the rest
// of A's lease (it does not compute while the lease is current), takes a new lease once it expires,
// runs the function itself and returns within lease_ttl (+ slack) of the kill: a dead holder costs
// at most one lease_ttl.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/client/lease_e2e_harness.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder::testing {
namespace {

constexpr absl::Duration kLeaseTtl = absl::Seconds(2);
// Process start-up, the client's polling interval and a busy 2-core machine.
constexpr absl::Duration kSlack = absl::Seconds(1);
// How long A computes before it dies: B then waits only for the rest of A's lease.
constexpr absl::Duration kHeldBeforeKill = absl::Milliseconds(500);

TEST(LeaseKilledHolderE2eTest, NextCallerComputesWithinTheLeaseTtl) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LarderdProcess> server, LarderdProcess::Start());
  const std::string dir = MakeTempDir("larder-lease-killed-holder");
  ChildSpec spec;
  spec.target = server->grpc_address();
  spec.lease_ttl = kLeaseTtl;
  spec.runs_file = dir + "/runs";
  spec.results_file = dir + "/results";
  spec.compute = absl::Milliseconds(-1);  // A holds the lease and never returns.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> a, StartChild(spec));
  ASSERT_OK_AND_ASSIGN(HerdRun a_run, AwaitRun(spec.runs_file, 0, absl::Seconds(10)));
  absl::SleepFor(kHeldBeforeKill);
  const absl::Time killed = absl::Now();
  a->Kill();

  spec.compute = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> b, StartChild(spec));
  ASSERT_OK(AwaitSuccess(*b, kLeaseTtl + absl::Seconds(15)));
  const absl::Duration served_after_kill = absl::Now() - killed;

  ASSERT_OK_AND_ASSIGN(std::vector<HerdRun> runs, ReadRuns(spec.runs_file));
  ASSERT_EQ(runs.size(), 2u);
  const HerdRun& b_run = runs[1];
  EXPECT_EQ(a_run.pid, a->pid());
  EXPECT_EQ(b_run.pid, b->pid()) << "the function ran in the second process";
  const absl::Duration b_after_a = absl::Milliseconds(b_run.unix_ms - a_run.unix_ms);
  std::cout << "killed holder: lease_ttl " << absl::FormatDuration(kLeaseTtl) << "; B's run began "
            << absl::FormatDuration(b_after_a) << " after A's;"
            << " B had the value " << absl::FormatDuration(served_after_kill)
            << " after the kill (A held the lease for "
            << absl::FormatDuration(killed - absl::FromUnixMillis(a_run.unix_ms))
            << " before it)\n";
  RecordProperty("served_after_kill_ms",
                 absl::StrCat(absl::ToInt64Milliseconds(served_after_kill)));
  // A's lease was granted before A recorded its run; B computes only once it has expired.
  EXPECT_GE(b_after_a, kLeaseTtl - absl::Milliseconds(100));
  EXPECT_LE(served_after_kill, kLeaseTtl + kSlack);

  ASSERT_OK_AND_ASSIGN(std::vector<HerdCall> calls, ReadCalls(spec.results_file));
  ASSERT_EQ(calls.size(), 1u);
  const std::string b_value = absl::StrCat("v0-", b->pid());
  EXPECT_EQ(calls[0].value, b_value);
  ClientOptions options;
  options.target = server->grpc_address();
  options.deadline = absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Client> client, Client::Create(options));
  ASSERT_OK_AND_ASSIGN(GetResult stored, client->Get("herd", "k0"));
  EXPECT_EQ(CachedPayload(stored.value), b_value) << "B's value is stored for the next caller";
  RemoveTree(dir);
}

}  // namespace
}  // namespace larder::testing

// Fleet-wide single flight of larder::Cached against a larder.v1.Cache in this process
// (FakeLarder) that plays back scripted Lease answers, with a FakeWaitClock, so every path of
// the lease wait runs deterministically and without sleeping: the holder stores with its token,
// a waiter polls with a capped, jittered backoff until the value, its own lease or lease_wait,
// serves a stale value that decodes, and a larderd without leases (UNIMPLEMENTED) is remembered
// and answered with the Get path.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "client/src/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/fake_larder.h"
#include "tests/client/fake_wait_clock.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::client::internal::WrapEnvelope;
using ::larder::testing::FakeLarder;
using ::larder::testing::FakeWaitClock;
using ::larder::testing::MetricValue;
using ::larder::testing::StatusCodeIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::LeaseResponse TokenAnswer(const std::string& token) {
  v1::LeaseResponse answer;
  answer.set_lease_token(token);
  return answer;
}

v1::LeaseResponse WaitAnswer() {
  v1::LeaseResponse answer;
  answer.set_wait(true);
  return answer;
}

// A wait offering `stored` (the bytes larderd kept) as the stale value.
v1::LeaseResponse StaleAnswer(const std::string& stored) {
  v1::LeaseResponse answer = WaitAnswer();
  answer.mutable_stale()->set_found(true);
  answer.mutable_stale()->set_value(stored);
  return answer;
}

v1::LeaseResponse EntryAnswer(const std::string& stored) {
  v1::LeaseResponse answer;
  answer.mutable_entry()->set_found(true);
  answer.mutable_entry()->set_value(stored);
  return answer;
}

// What a cached function of std::string stores for `value`: fresh for as long as it is kept.
std::string Envelope(const std::string& value) { return WrapEnvelope(std::nullopt, value); }

class CachedLeaseUnitTest : public ::testing::Test {
 protected:
  CachedLeaseUnitTest() {
    ClientOptions options;
    options.target = larder_.address();
    options.deadline = absl::Seconds(5);
    options.metrics_registry = registry_;
    client_ = *Client::Create(options);
  }

  CachedOptions Options() {
    CachedOptions options;
    options.namespace_name = "leases";
    options.function_name = "load";
    options.ttl = absl::Hours(1);
    options.lease_ttl = absl::Seconds(3);
    options.wait_clock = &wait_clock_;
    return options;
  }

  // A cached function that counts its runs and answers "computed".
  auto Load(const CachedOptions& options) {
    return Cached(client_, options, [this](int) {
      ++runs_;
      return std::string("computed");
    });
  }

  double Leases(const std::string& result) const {
    return MetricValue(*registry_, "larder_client_leases_total",
                       {{"namespace", "leases"}, {"result", result}});
  }
  double Requests(const std::string& result) const {
    return MetricValue(*registry_, "larder_client_requests_total",
                       {{"namespace", "leases"}, {"result", result}});
  }

  FakeLarder larder_;  // First: outlives the client.
  FakeWaitClock wait_clock_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Client> client_;
  std::atomic<int> runs_{0};
};

TEST_F(CachedLeaseUnitTest, TheHolderComputesAndStoresWithItsToken) {
  larder_.ScriptLeases({TokenAnswer("t1")});
  auto load = Load(Options());
  EXPECT_EQ(load(1), "computed");
  EXPECT_EQ(runs_.load(), 1);
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("t1"));
  ASSERT_EQ(larder_.lease_requests().size(), 1u);
  const v1::LeaseRequest sent = larder_.lease_requests()[0];
  EXPECT_EQ(sent.namespace_(), "leases");
  EXPECT_EQ(sent.key(), *load.KeyFor(1));
  EXPECT_EQ(sent.lease_ttl().seconds(), 3);  // CachedOptions::lease_ttl
  EXPECT_EQ(Leases("granted"), 1);
  EXPECT_EQ(Requests("miss"), 1);
  EXPECT_THAT(wait_clock_.pauses(), IsEmpty());
}

TEST_F(CachedLeaseUnitTest, ALiveEntryIsAHitWithoutComputing) {
  larder_.ScriptLeases({EntryAnswer(Envelope("stored"))});
  EXPECT_EQ(Load(Options())(1), "stored");
  EXPECT_EQ(runs_.load(), 0);
  EXPECT_EQ(Requests("hit"), 1);
  EXPECT_EQ(Leases("granted"), -1);  // No lease event at all.
  EXPECT_THAT(larder_.set_tokens(), IsEmpty());
}

TEST_F(CachedLeaseUnitTest, AWaiterPollsWithABackoffUntilTheHoldersValue) {
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer(), WaitAnswer(), EntryAnswer(Envelope("v"))});
  EXPECT_EQ(Load(Options())(1), "v");
  EXPECT_EQ(runs_.load(), 0);
  const std::vector<absl::Duration> pauses = wait_clock_.pauses();
  ASSERT_EQ(pauses.size(), 3u);
  // 5 ms doubling, each within +-20%.
  for (size_t i = 0; i < pauses.size(); ++i) {
    const absl::Duration base = absl::Milliseconds(5) * (1 << i);
    EXPECT_GE(pauses[i], base * 0.8) << i;
    EXPECT_LE(pauses[i], base * 1.2) << i;
  }
  EXPECT_EQ(Leases("waited"), 1);  // Once per call, however many polls.
  EXPECT_EQ(Requests("hit"), 1);
  EXPECT_THAT(larder_.set_tokens(), IsEmpty());
}

TEST_F(CachedLeaseUnitTest, PollPausesAreCappedAt100Milliseconds) {
  std::vector<v1::LeaseResponse> answers(12, WaitAnswer());
  answers.push_back(EntryAnswer(Envelope("v")));
  larder_.ScriptLeases(answers);
  EXPECT_EQ(Load(Options())(1), "v");
  const std::vector<absl::Duration> pauses = wait_clock_.pauses();
  ASSERT_EQ(pauses.size(), 12u);
  for (size_t i = 6; i < pauses.size(); ++i) {
    EXPECT_GE(pauses[i], absl::Milliseconds(80)) << i;
    EXPECT_LE(pauses[i], absl::Milliseconds(120)) << i;
  }
}

TEST_F(CachedLeaseUnitTest, AWaiterServesTheStaleValueAtOnce) {
  larder_.ScriptLeases({StaleAnswer(Envelope("old"))});
  EXPECT_EQ(Load(Options())(1), "old");
  EXPECT_EQ(runs_.load(), 0);
  EXPECT_THAT(wait_clock_.pauses(), IsEmpty());
  EXPECT_EQ(Leases("waited"), 1);
  EXPECT_EQ(Leases("served_stale"), 1);
  EXPECT_EQ(Requests("stale"), 1);
  EXPECT_THAT(larder_.set_tokens(), IsEmpty());  // The holder stores, not the waiter.
}

TEST_F(CachedLeaseUnitTest, AStaleValueThatDoesNotDecodeIsNotServed) {
  // Not an envelope, then an envelope whose payload is no int64: both counted, neither served.
  larder_.ScriptLeases(
      {StaleAnswer("not an envelope"), StaleAnswer(Envelope("3 bytes")), TokenAnswer("t2")});
  auto twice = Cached(client_, Options(), [this](int x) {
    ++runs_;
    return int64_t{2} * x;
  });
  EXPECT_EQ(twice(21), 42);
  EXPECT_EQ(runs_.load(), 1);
  EXPECT_EQ(MetricValue(*registry_, "larder_client_coder_errors_total", {}), 2);
  EXPECT_EQ(Leases("served_stale"), 0);
  EXPECT_EQ(Leases("granted"), 1);  // Its own lease, on the second poll.
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("t2"));
}

TEST_F(CachedLeaseUnitTest, AfterLeaseWaitTheWaiterComputesAndStoresWithoutAToken) {
  CachedOptions options = Options();
  options.lease_wait = absl::Milliseconds(250);
  larder_.ScriptLeases(std::vector<v1::LeaseResponse>(100, WaitAnswer()));
  EXPECT_EQ(Load(options)(1), "computed");
  EXPECT_EQ(runs_.load(), 1);
  EXPECT_EQ(wait_clock_.slept(), absl::Milliseconds(250));  // Never past lease_wait.
  EXPECT_EQ(larder_.lease_requests().size(), wait_clock_.pauses().size() + 1);
  EXPECT_THAT(larder_.set_tokens(), ElementsAre(""));
  EXPECT_EQ(Leases("wait_timeout"), 1);
  EXPECT_EQ(Requests("miss"), 1);
}

TEST_F(CachedLeaseUnitTest, AZeroLeaseWaitNeverPolls) {
  CachedOptions options = Options();
  options.lease_wait = absl::ZeroDuration();
  larder_.ScriptLeases({WaitAnswer(), WaitAnswer()});
  EXPECT_EQ(Load(options)(1), "computed");
  EXPECT_THAT(wait_clock_.pauses(), IsEmpty());
  EXPECT_EQ(larder_.lease_requests().size(), 1u);
  EXPECT_EQ(Leases("wait_timeout"), 1);
}

TEST_F(CachedLeaseUnitTest, APollThatGetsItsOwnLeaseComputesAndStoresWithIt) {
  larder_.ScriptLeases({WaitAnswer(), TokenAnswer("mine")});
  EXPECT_EQ(Load(Options())(1), "computed");
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("mine"));
  EXPECT_EQ(Leases("waited"), 1);
  EXPECT_EQ(Leases("granted"), 1);
}

TEST_F(CachedLeaseUnitTest, NoLeaseAvailableComputesAndStoresWithoutAToken) {
  larder_.ScriptLeases({v1::LeaseResponse()});  // larderd at --max-leases: nothing set.
  EXPECT_EQ(Load(Options())(1), "computed");
  EXPECT_THAT(larder_.set_tokens(), ElementsAre(""));
  EXPECT_THAT(wait_clock_.pauses(), IsEmpty());
}

TEST_F(CachedLeaseUnitTest, ARefusedLeasedStoreIsCountedAndTheValueStillReturned) {
  larder_.ScriptLeases({TokenAnswer("voided")});
  larder_.set_refuse_leased_sets(true);
  EXPECT_EQ(Load(Options())(1), "computed");
  EXPECT_EQ(Leases("stale_set_prevented"), 1);
  EXPECT_EQ(Requests("miss"), 1);  // Not an error: larderd kept the newer state.
  EXPECT_EQ(Requests("error"), 0);
}

TEST_F(CachedLeaseUnitTest, WithoutLeasesOnTheServerItRemembersAndUsesGet) {
  auto load = Load(Options());  // FakeLarder answers Lease UNIMPLEMENTED, serves Get and Set.
  EXPECT_EQ(load(1), "computed");
  EXPECT_EQ(load(1), "computed");
  EXPECT_EQ(load(2), "computed");
  EXPECT_EQ(runs_.load(), 2);  // The second call hit what the first stored.
  EXPECT_EQ(larder_.lease_requests().size(), 1u);
  EXPECT_EQ(MetricValue(*registry_, "larder_client_rpcs_total",
                        {{"method", "Lease"}, {"code", "UNIMPLEMENTED"}}),
            1);
  EXPECT_EQ(Requests("miss"), 2);
  EXPECT_EQ(Requests("hit"), 1);
  EXPECT_EQ(Requests("error"), 0);
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("", ""));
}

TEST_F(CachedLeaseUnitTest, UnimplementedWhileWaitingFallsBackToGet) {
  larder_.ScriptLeases({WaitAnswer()});  // Then UNIMPLEMENTED (a replica without leases).
  larder_.Plant("leases", *Load(Options()).KeyFor(1), Envelope("from get"));
  EXPECT_EQ(Load(Options())(1), "from get");
  EXPECT_EQ(runs_.load(), 0);
}

TEST_F(CachedLeaseUnitTest, ALeaseErrorFailsOpenWithoutStoring) {
  larder_.set_answer(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "web may not write"));
  EXPECT_EQ(Load(Options())(1), "computed");
  EXPECT_EQ(larder_.attempts(), 1);  // The Lease only: no Get, no Set.
  EXPECT_EQ(Requests("error"), 1);
  EXPECT_EQ(MetricValue(*registry_, "larder_client_lookup_errors_total",
                        {{"namespace", "leases"}, {"code", "PERMISSION_DENIED"}}),
            1);
}

TEST_F(CachedLeaseUnitTest, WithFleetSingleFlightOffNoLeaseIsAsked) {
  CachedOptions options = Options();
  options.fleet_single_flight = false;
  larder_.ScriptLeases({TokenAnswer("unused")});
  auto load = Load(options);
  EXPECT_EQ(load(1), "computed");
  EXPECT_EQ(load(1), "computed");
  EXPECT_EQ(runs_.load(), 1);
  EXPECT_THAT(larder_.lease_requests(), IsEmpty());
}

TEST_F(CachedLeaseUnitTest, ClientLeaseRemembersUnimplementedWithoutAnotherRpc) {
  EXPECT_THAT(client_->Lease("leases", "k"), StatusCodeIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(client_->Lease("leases", "k"), StatusCodeIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(client_->LeaseAsync("leases", "k").get(),
              StatusCodeIs(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(larder_.lease_requests().size(), 1u);
}

TEST_F(CachedLeaseUnitTest, ClientLeaseIsNotRetriedOnUnavailable) {
  larder_.set_answer(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset"));
  EXPECT_THAT(client_->Lease("leases", "k"), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(larder_.lease_requests().size(), 1u);
  SetOptions leased;
  leased.lease_token = "t";
  EXPECT_THAT(client_->Set("leases", "k", "v", leased),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(larder_.set_tokens(), ElementsAre("t"));  // Attempted once.
}

}  // namespace
}  // namespace larder

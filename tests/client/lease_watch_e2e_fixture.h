// LeaseWatchE2eTest: a real larderd, the fixture's client as the lease's holder (another
// "process") and a waiter client that near-caches namespace "fleet", its Watch stream live
// before a test starts. Waits are on a PatientWaitClock: a waiter only ever wakes on an event.
//
//   wait_clock_.set_on_wait([&](int waits) { if (waits == 1) … the holder stores … });
//   … EXPECT_EQ(WaiterLeasePolls(), 2);   // the Lease that said wait, and one after the event
#pragma once

#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "client/src/key_waiters.h"
#include "tests/client/client_fixture.h"
#include "tests/client/metrics_reader.h"
#include "tests/client/patient_wait_clock.h"

namespace larder::testing {

class LeaseWatchE2eTest : public LarderdClientTest {
 protected:
  void SetUp() override {
    LarderdClientTest::SetUp();
    ClientOptions options = OptionsFor(server_->grpc_address());
    options.metrics_registry = waiter_registry_;
    options.near_cache.namespaces = {"fleet"};
    waiter_ = NewClient(options);
    ASSERT_NE(waiter_, nullptr);
    auto& waiters = client::internal::KeyWaiters::Process();
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!waiters.Watched("fleet") && absl::Now() < give_up) std::this_thread::yield();
    ASSERT_TRUE(waiters.Watched("fleet")) << "the waiter's Watch stream never became live";
  }

  // The waiter's Lease RPCs answered so far.
  double WaiterLeasePolls() const {
    return MetricValue(*waiter_registry_, "larder_client_rpcs_total",
                       {{"method", "Lease"}, {"code", "OK"}});
  }
  double WaiterLeases(const std::string& result) const {
    return MetricValue(*waiter_registry_, "larder_client_leases_total",
                       {{"namespace", "fleet"}, {"result", result}});
  }

  std::shared_ptr<prometheus::Registry> waiter_registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Client> waiter_;
  PatientWaitClock wait_clock_;
};

}  // namespace larder::testing

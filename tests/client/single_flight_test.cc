#include "larder/internal/single_flight.h"

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace larder::internal {
namespace {

TEST(SingleFlightGroupTest, FirstCallerLeadsOthersJoin) {
  SingleFlightGroup<std::string> group;
  auto first = group.Join("k");
  auto second = group.Join("k");
  auto other_key = group.Join("other");
  EXPECT_TRUE(first.leader);
  EXPECT_FALSE(second.leader);
  EXPECT_TRUE(other_key.leader);
  EXPECT_EQ(first.flight, second.flight);
  EXPECT_EQ(group.in_flight(), 2u);
}

TEST(SingleFlightGroupTest, FinishStartsANewFlight) {
  SingleFlightGroup<int> group;
  auto first = group.Join("k");
  group.Finish("k", first.flight);
  EXPECT_EQ(group.in_flight(), 0u);
  EXPECT_TRUE(group.Join("k").leader);
}

TEST(SingleFlightGroupTest, WaitersShareThePublishedValue) {
  SingleFlightGroup<std::string> group;
  auto leader = group.Join("k");
  std::vector<std::thread> waiters;
  std::vector<std::string> seen(4);
  for (size_t i = 0; i < seen.size(); ++i) {
    auto joined = group.Join("k");
    ASSERT_FALSE(joined.leader);
    waiters.emplace_back([&seen, i, flight = joined.flight] { seen[i] = flight->Wait().value; });
  }
  leader.flight->Publish("value", LookupResult::kMiss);
  for (std::thread& waiter : waiters) waiter.join();
  for (const std::string& value : seen) EXPECT_EQ(value, "value");
}

TEST(FlightTest, FirstPublicationWins) {
  Flight<std::string> flight;
  flight.Publish("stale", LookupResult::kStale);
  flight.Publish("fresh", LookupResult::kStale);
  flight.PublishException(std::make_exception_ptr(std::runtime_error("late")));
  EXPECT_EQ(flight.Wait().value, "stale");
  EXPECT_EQ(flight.Wait().result, LookupResult::kStale);
}

TEST(FlightTest, WaitersRethrowTheLeadersException) {
  Flight<int> flight;
  absl::Notification waiting;
  std::thread waiter([&] {
    waiting.Notify();
    EXPECT_THROW(flight.Wait(), std::runtime_error);
  });
  waiting.WaitForNotification();
  flight.PublishException(std::make_exception_ptr(std::runtime_error("boom")));
  waiter.join();
}

}  // namespace
}  // namespace larder::internal

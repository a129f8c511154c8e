#include "client/src/timer_queue.h"

#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace larder::client::internal {
namespace {

TEST(TimerQueueTest, RunsDueCallbacksInTimeOrder) {
  std::vector<int> order;  // Only touched on the timer thread until `done`.
  absl::Notification gate_entered;
  absl::Notification gate_open;
  absl::Notification done;
  TimerQueue timers;
  const absl::Time past = absl::Now() - absl::Seconds(1);
  // Occupies the timer thread while the others are queued out of order.
  timers.RunAt(past, [&] {
    gate_entered.Notify();
    gate_open.WaitForNotification();
  });
  gate_entered.WaitForNotification();
  timers.RunAt(past + absl::Milliseconds(3), [&] {
    order.push_back(3);
    done.Notify();
  });
  timers.RunAt(past + absl::Milliseconds(1), [&] { order.push_back(1); });
  timers.RunAt(past + absl::Milliseconds(2), [&] { order.push_back(2); });
  gate_open.Notify();
  done.WaitForNotification();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueueTest, AnEarlierTimerIsNotHeldBehindALaterOne) {
  absl::Notification later_ran;
  absl::Notification earlier_ran;
  TimerQueue timers;  // Destroyed first: it runs the hour-later callback at once.
  timers.RunAt(absl::Now() + absl::Hours(1), [&] { later_ran.Notify(); });
  timers.RunAt(absl::Now(), [&] { earlier_ran.Notify(); });
  earlier_ran.WaitForNotification();
  EXPECT_FALSE(later_ran.HasBeenNotified());
}

TEST(TimerQueueTest, DestructionRunsPendingCallbacks) {
  bool ran = false;
  {
    TimerQueue timers;
    timers.RunAt(absl::Now() + absl::Hours(1), [&] { ran = true; });
  }
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace larder::client::internal

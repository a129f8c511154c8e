// KeyWaiters (who waits for which key's lease, woken by the near cache's Watch events), LeaseWait
// (the pauses of one waiting call, early-ended by them) and WaitSignal / WaitClock::WaitFor. Time
// is a FakeWaitClock: nothing sleeps, and a wait's hook raises signals deterministically.
#include "client/src/key_waiters.h"

#include <memory>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/wait_clock.h"
#include "tests/client/fake_wait_clock.h"

namespace larder::client::internal {
namespace {

using ::larder::testing::FakeWaitClock;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A pause of `base` +-20% (the backoffs' jitter).
MATCHER_P(About, base, "") { return arg >= base * 0.8 && arg <= base * 1.2; }

TEST(KeyWaitersTest, NotifyWakesOnlyTheWaitersOfThatKey) {
  KeyWaiters waiters;
  auto first = waiters.Register("users", "42");
  auto second = waiters.Register("users", "42");
  auto other_key = waiters.Register("users", "43");
  auto other_namespace = waiters.Register("pages", "42");
  waiters.Notify("users", "42");
  EXPECT_TRUE(first->signal().raised());
  EXPECT_TRUE(second->signal().raised());
  EXPECT_FALSE(other_key->signal().raised());
  EXPECT_FALSE(other_namespace->signal().raised());
  EXPECT_TRUE(first->Take());
  EXPECT_FALSE(first->Take());  // Taken: lowered until the next notification.
  waiters.Notify("users", "42");
  EXPECT_TRUE(first->Take());
}

TEST(KeyWaitersTest, NotifyNamespaceWakesEveryWaiterOfIt) {
  KeyWaiters waiters;
  auto a = waiters.Register("users", "a");
  auto b = waiters.Register("users", "b");
  auto elsewhere = waiters.Register("pages", "a");
  waiters.NotifyNamespace("users");
  EXPECT_TRUE(a->signal().raised());
  EXPECT_TRUE(b->signal().raised());
  EXPECT_FALSE(elsewhere->signal().raised());
}

TEST(KeyWaitersTest, AWaiterIsUnregisteredWhenDestroyed) {
  KeyWaiters waiters;
  EXPECT_EQ(waiters.waiting(), 0);
  auto kept = waiters.Register("users", "42");
  {
    auto gone = waiters.Register("users", "42");
    EXPECT_EQ(waiters.waiting(), 2);
  }
  EXPECT_EQ(waiters.waiting(), 1);
  waiters.Notify("users", "42");  // Reaches only the one left.
  EXPECT_TRUE(kept->signal().raised());
  kept.reset();
  EXPECT_EQ(waiters.waiting(), 0);
  waiters.Notify("users", "42");  // Nobody waits: nothing to do.
  waiters.NotifyNamespace("users");
}

TEST(KeyWaitersTest, ANamespaceIsWatchedWhileOneOfItsStreamsIsLive) {
  KeyWaiters waiters;
  EXPECT_FALSE(waiters.Watched("users"));
  waiters.StreamLive("users");  // Two clients near-cache it.
  waiters.StreamLive("users");
  EXPECT_TRUE(waiters.Watched("users"));
  EXPECT_FALSE(waiters.Watched("pages"));
  auto waiter = waiters.Register("users", "42");
  waiters.StreamEnded("users");
  EXPECT_TRUE(waiters.Watched("users"));
  EXPECT_TRUE(waiter->Take());  // An ended stream wakes the namespace's waiters.
  waiters.StreamEnded("users");
  EXPECT_FALSE(waiters.Watched("users"));
  EXPECT_TRUE(waiter->Take());
}

TEST(LeaseWaitTest, WithoutAStreamItSleepsThePlainBackoffAndNeverRegisters) {
  KeyWaiters waiters;
  FakeWaitClock clock;
  LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
  for (int poll = 1; poll <= 3; ++poll) EXPECT_FALSE(wait.Pause(poll, absl::Seconds(10)));
  EXPECT_THAT(clock.pauses(),
              ElementsAre(About(absl::Milliseconds(5)), About(absl::Milliseconds(10)),
                          About(absl::Milliseconds(20))));
  EXPECT_EQ(clock.waits(), 0);
  EXPECT_EQ(waiters.waiting(), 0);
}

TEST(LeaseWaitTest, ANamespaceWatchedThroughAnotherClientIsNotWaitedOn) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  LeaseWait wait(waiters, "users", "42", /*watchable=*/false, clock);
  EXPECT_FALSE(wait.Pause(1, absl::Seconds(10)));
  EXPECT_EQ(clock.waits(), 0);
  EXPECT_EQ(waiters.waiting(), 0);
}

TEST(LeaseWaitTest, WithAStreamTheFirstPauseIsShortAndTheFallbackLonger) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  {
    LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
    for (int poll = 1; poll <= 5; ++poll) EXPECT_FALSE(wait.Pause(poll, absl::Seconds(10)));
    EXPECT_EQ(waiters.waiting(), 1);  // One entry for the whole call.
  }
  EXPECT_EQ(waiters.waiting(), 0);
  EXPECT_EQ(clock.waits(), 5);
  EXPECT_EQ(clock.woken(), 0);
  // The registration's pause, then 100 ms doubling to 500 ms (every wait timed out).
  EXPECT_THAT(clock.pauses(),
              ElementsAre(About(absl::Milliseconds(5)), About(absl::Milliseconds(100)),
                          About(absl::Milliseconds(200)), About(absl::Milliseconds(400)),
                          About(absl::Milliseconds(500))));
}

TEST(LeaseWaitTest, AnEventOfItsKeyEndsThePauseWithoutTimePassing) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  clock.set_on_wait([&](int wait, const WaitSignal&) {
    if (wait == 2) waiters.Notify("users", "other");  // Not this waiter's key.
    if (wait == 3) waiters.Notify("users", "42");
  });
  LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
  EXPECT_FALSE(wait.Pause(1, absl::Seconds(10)));
  EXPECT_FALSE(wait.Pause(2, absl::Seconds(10)));
  const absl::Time before = clock.Now();
  EXPECT_TRUE(wait.Pause(3, absl::Seconds(10)));
  EXPECT_EQ(clock.Now(), before);
  EXPECT_EQ(clock.woken(), 1);
  // Taken before the poll: the next pause waits again.
  EXPECT_FALSE(wait.Pause(4, absl::Seconds(10)));
  EXPECT_EQ(clock.woken(), 1);
}

TEST(LeaseWaitTest, ANamespaceEventEndsThePause) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  clock.set_on_wait([&](int, const WaitSignal&) { waiters.NotifyNamespace("users"); });
  LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
  EXPECT_TRUE(wait.Pause(1, absl::Seconds(10)));
  EXPECT_THAT(clock.pauses(), IsEmpty());
}

TEST(LeaseWaitTest, APauseNeverOutlastsWhatIsLeft) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
  EXPECT_FALSE(wait.Pause(1, absl::Milliseconds(1)));
  EXPECT_FALSE(wait.Pause(2, absl::Milliseconds(30)));
  EXPECT_THAT(clock.pauses(), ElementsAre(absl::Milliseconds(1), absl::Milliseconds(30)));
}

TEST(LeaseWaitTest, WhenTheStreamEndsTheWaiterIsWokenThenSleepsThePlainBackoff) {
  KeyWaiters waiters;
  waiters.StreamLive("users");
  FakeWaitClock clock;
  clock.set_on_wait([&](int wait, const WaitSignal&) {
    if (wait == 2) waiters.StreamEnded("users");
  });
  LeaseWait wait(waiters, "users", "42", /*watchable=*/true, clock);
  EXPECT_FALSE(wait.Pause(1, absl::Seconds(10)));
  EXPECT_TRUE(wait.Pause(2, absl::Seconds(10)));
  EXPECT_FALSE(wait.Pause(3, absl::Seconds(10)));
  EXPECT_EQ(clock.waits(), 2);
  EXPECT_THAT(clock.pauses(),
              ElementsAre(About(absl::Milliseconds(5)), About(absl::Milliseconds(20))));
}

TEST(WaitSignalTest, TheRealClockReturnsOnceRaisedByAnotherThread) {
  WaitSignal signal;
  EXPECT_FALSE(WaitClock::Real().WaitFor(signal, absl::ZeroDuration()));
  std::thread raiser([&] { signal.Raise(); });
  // Far longer than the test may take: only the Raise ends it.
  EXPECT_TRUE(WaitClock::Real().WaitFor(signal, absl::Hours(1)));
  raiser.join();
  EXPECT_TRUE(signal.raised());  // WaitFor leaves it raised.
  EXPECT_TRUE(signal.Take());
  EXPECT_FALSE(signal.raised());
}

// A clock that only sleeps, as written before WaitFor existed.
class SleepOnlyClock final : public WaitClock {
 public:
  absl::Time Now() const override { return now_; }
  void SleepFor(absl::Duration duration) const override { now_ += duration; }

 private:
  mutable absl::Time now_ = absl::UnixEpoch();
};

TEST(WaitSignalTest, TheDefaultWaitForSleepsTheWholePause) {
  SleepOnlyClock clock;
  WaitSignal signal;
  EXPECT_FALSE(clock.WaitFor(signal, absl::Milliseconds(30)));
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Milliseconds(30));
  signal.Raise();
  EXPECT_TRUE(clock.WaitFor(signal, absl::Milliseconds(30)));  // Raised already: at once.
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Milliseconds(30));
}

}  // namespace
}  // namespace larder::client::internal

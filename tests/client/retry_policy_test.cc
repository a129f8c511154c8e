#include "client/src/retry_policy.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace larder::client::internal {
namespace {

RetryOptions Backoff(absl::Duration initial, absl::Duration max, double jitter) {
  RetryOptions options;
  options.initial_backoff = initial;
  options.max_backoff = max;
  options.backoff_multiplier = 2.0;
  options.jitter = jitter;
  return options;
}

TEST(BackoffDelayTest, GrowsExponentiallyUpToTheCap) {
  const RetryOptions options = Backoff(absl::Milliseconds(2), absl::Milliseconds(20), 0.0);
  EXPECT_EQ(BackoffDelay(options, 1, 0.5), absl::Milliseconds(2));
  EXPECT_EQ(BackoffDelay(options, 2, 0.5), absl::Milliseconds(4));
  EXPECT_EQ(BackoffDelay(options, 4, 0.5), absl::Milliseconds(16));
  EXPECT_EQ(BackoffDelay(options, 5, 0.5), absl::Milliseconds(20));
  EXPECT_EQ(BackoffDelay(options, 500, 0.5), absl::Milliseconds(20));
}

TEST(BackoffDelayTest, JitterSpreadsWithinTheBand) {
  const RetryOptions options = Backoff(absl::Milliseconds(10), absl::Seconds(1), 0.2);
  EXPECT_EQ(BackoffDelay(options, 1, 0.0), absl::Milliseconds(8));
  EXPECT_EQ(BackoffDelay(options, 1, 0.5), absl::Milliseconds(10));
  EXPECT_EQ(BackoffDelay(options, 1, 1.0), absl::Milliseconds(12));
}

TEST(BackoffDelayTest, NeverNegative) {
  const RetryOptions options = Backoff(absl::Milliseconds(10), absl::Seconds(1), 1.0);
  EXPECT_EQ(BackoffDelay(options, 1, 0.0), absl::ZeroDuration());
  EXPECT_EQ(BackoffDelay(options, 1, -3.0), absl::ZeroDuration());
}

TEST(RetryBudgetTest, AllowsRetriesAsAFractionOfCalls) {
  testing::FakeClock clock;
  RetryBudget budget(/*ratio=*/0.1, /*min_per_second=*/0, clock);
  EXPECT_FALSE(budget.TryRetry());
  for (int i = 0; i < 100; ++i) budget.RecordCall();
  int allowed = 0;
  while (budget.TryRetry()) ++allowed;
  EXPECT_EQ(allowed, 10);
}

TEST(RetryBudgetTest, CapsTheSavedBalance) {
  testing::FakeClock clock;
  RetryBudget budget(0.5, 0, clock);
  for (int i = 0; i < 10 * RetryBudget::kBalanceCalls; ++i) budget.RecordCall();
  int allowed = 0;
  while (budget.TryRetry()) ++allowed;
  EXPECT_EQ(allowed, RetryBudget::kBalanceCalls / 2);
}

TEST(RetryBudgetTest, FloorAllowsAFewRetriesEachSecond) {
  testing::FakeClock clock;
  RetryBudget budget(0.1, /*min_per_second=*/3, clock);
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_FALSE(budget.TryRetry());
  clock.Advance(absl::Milliseconds(999));  // The window is the clock's whole second.
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(budget.TryRetry());
}

TEST(RetryBudgetTest, ZeroRatioAndFloorNeverRetries) {
  testing::FakeClock clock;
  RetryBudget budget(0.0, 0, clock);
  for (int i = 0; i < 1000; ++i) budget.RecordCall();
  EXPECT_FALSE(budget.TryRetry());
}

// Every code the server or the channel can produce, and whether an idempotent call retries it.
TEST(MayRetryTest, OnlyUnavailableOfAnIdempotentCall) {
  for (int number = 0; number <= static_cast<int>(absl::StatusCode::kUnauthenticated); ++number) {
    const auto code = static_cast<absl::StatusCode>(number);
    SCOPED_TRACE(absl::StatusCodeToString(code));
    EXPECT_EQ(MayRetry(code, Idempotency::kIdempotent), code == absl::StatusCode::kUnavailable);
    EXPECT_FALSE(MayRetry(code, Idempotency::kAtMostOnce));
  }
}

TEST(MayRetryTest, NamedCodesAreNeverRetried) {
  for (absl::StatusCode code :
       {absl::StatusCode::kDataLoss, absl::StatusCode::kInternal,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kInvalidArgument,
        absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kCancelled,
        absl::StatusCode::kUnknown}) {
    EXPECT_FALSE(MayRetry(code, Idempotency::kIdempotent)) << absl::StatusCodeToString(code);
  }
}

TEST(IdempotencyOfTest, ConditionalSetsAreAtMostOnce) {
  SetOptions plain;
  plain.ttl = absl::Seconds(5);
  plain.tags = {"t"};
  SetOptions if_absent;
  if_absent.if_absent = true;
  SetOptions if_match;
  if_match.if_match = "\"abc\"";
  EXPECT_EQ(IdempotencyOf(plain), Idempotency::kIdempotent);
  EXPECT_EQ(IdempotencyOf(if_absent), Idempotency::kAtMostOnce);
  EXPECT_EQ(IdempotencyOf(if_match), Idempotency::kAtMostOnce);
}

TEST(IdempotencyOfTest, ASetWithALeaseTokenIsAtMostOnce) {
  // A repeat of an applied attempt would find its lease ended and answer stored = false.
  SetOptions leased;
  leased.lease_token = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(IdempotencyOf(leased), Idempotency::kAtMostOnce);
}

TEST(IdempotencyOfTest, OneConditionalEntryMakesAMultiSetAtMostOnce) {
  std::vector<SetEntry> entries(3);
  EXPECT_EQ(IdempotencyOf(entries), Idempotency::kIdempotent);
  EXPECT_EQ(IdempotencyOf(std::vector<SetEntry>{}), Idempotency::kIdempotent);
  entries[2].options.if_absent = true;
  EXPECT_EQ(IdempotencyOf(entries), Idempotency::kAtMostOnce);
  entries[2].options.if_absent = false;
  entries[1].options.if_match = "*";
  EXPECT_EQ(IdempotencyOf(entries), Idempotency::kAtMostOnce);
}

}  // namespace
}  // namespace larder::client::internal

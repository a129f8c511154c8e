// LogRateLimiter: one line per cause per period, with the count of lines left out; time comes
// from a FakeClock, so nothing sleeps.
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/common/log_rate_limiter.h"
#include "tests/testing/fake_clock.h"

namespace larder::server {
namespace {

using ::larder::testing::FakeClock;

TEST(LogRateLimiterTest, FirstLineOfACauseIsAllowedWithNothingSuppressed) {
  FakeClock clock;
  LogRateLimiter limiter(clock, absl::Seconds(30));
  EXPECT_EQ(limiter.Allow("redis down"), std::optional<int64_t>(0));
}

TEST(LogRateLimiterTest, RepeatsWithinThePeriodAreSuppressedAndCounted) {
  FakeClock clock;
  LogRateLimiter limiter(clock, absl::Seconds(30));
  ASSERT_TRUE(limiter.Allow("redis down").has_value());
  for (int i = 0; i < 5; ++i) {
    clock.Advance(absl::Seconds(5));
    EXPECT_EQ(limiter.Allow("redis down"), std::nullopt);
  }
  clock.Advance(absl::Seconds(5));  // 30 s after the line allowed.
  EXPECT_EQ(limiter.Allow("redis down"), std::optional<int64_t>(5));
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(limiter.Allow("redis down"), std::nullopt);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(limiter.Allow("redis down"), std::optional<int64_t>(1));
}

TEST(LogRateLimiterTest, CausesAreLimitedIndependently) {
  FakeClock clock;
  LogRateLimiter limiter(clock, absl::Seconds(30));
  ASSERT_TRUE(limiter.Allow("a").has_value());
  EXPECT_EQ(limiter.Allow("b"), std::optional<int64_t>(0));
  EXPECT_EQ(limiter.Allow("a"), std::nullopt);
  EXPECT_EQ(limiter.Allow("b"), std::nullopt);
  EXPECT_EQ(limiter.Allow("b"), std::nullopt);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(limiter.Allow("a"), std::optional<int64_t>(1));
  EXPECT_EQ(limiter.Allow("b"), std::optional<int64_t>(2));
}

TEST(LogRateLimiterTest, ZeroPeriodAllowsEveryLine) {
  FakeClock clock;
  LogRateLimiter limiter(clock, absl::ZeroDuration());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Allow("a"), std::optional<int64_t>(0));
}

TEST(LogRateLimiterTest, ManyCausesForgetTheOldestAndStayBounded) {
  FakeClock clock;
  LogRateLimiter limiter(clock, absl::Hours(1));
  for (size_t i = 0; i < LogRateLimiter::kMaxCauses; ++i) {
    ASSERT_TRUE(limiter.Allow(absl::StrCat("cause ", i)).has_value());
    clock.Advance(absl::Milliseconds(1));
  }
  EXPECT_EQ(limiter.Allow("cause 1"), std::nullopt);  // Still remembered.
  EXPECT_TRUE(limiter.Allow("one too many").has_value());
  EXPECT_TRUE(limiter.Allow("cause 1").has_value());  // The oldest half was forgotten.
  EXPECT_EQ(limiter.Allow(absl::StrCat("cause ", LogRateLimiter::kMaxCauses - 1)), std::nullopt);
}

}  // namespace
}  // namespace larder::server

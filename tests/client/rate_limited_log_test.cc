// RateLimitedLog: one line per cause per interval on the injected clock, the count of lines
// held back carried by the next one, causes independent of each other.
#include "client/src/rate_limited_log.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/log.h"
#include "tests/testing/captured_log.h"
#include "tests/testing/fake_clock.h"

namespace larder::client::internal {
namespace {

using ::larder::testing::FakeClock;
using ::testing::ElementsAre;

TEST(RateLimitedLogTest, WritesOneLinePerCausePerInterval) {
  FakeClock clock;
  std::vector<std::string> lines;
  RateLimitedLog log(clock, absl::Minutes(1),
                     [&](absl::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(log.Log("a", "first"));
  EXPECT_FALSE(log.Log("a", "second"));
  EXPECT_TRUE(log.Log("b", "other cause"));
  clock.Advance(absl::Seconds(59));
  EXPECT_FALSE(log.Log("a", "third"));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(log.Log("a", "fourth"));
  EXPECT_TRUE(log.Log("b", "again"));
  EXPECT_THAT(lines, ElementsAre("larder: first", "larder: other cause",
                                 "larder: fourth (2 more suppressed)", "larder: again"));
}

TEST(RateLimitedLogTest, WithoutASinkLinesGoToTheProcessSink) {
  FakeClock clock;
  RateLimitedLog log(clock, absl::Minutes(1));
  {
    testing::CapturedLog captured;
    log.Log("a", "to the application's logger");
    EXPECT_THAT(captured.lines(), ElementsAre("larder: to the application's logger"));
  }
  std::vector<std::string> other;
  SetLogSink([&](absl::string_view line) { other.emplace_back(line); });
  clock.Advance(absl::Minutes(1));
  log.Log("a", "to the new sink");
  SetLogSink(nullptr);
  EXPECT_THAT(other, ElementsAre("larder: to the new sink"));
}

TEST(LoggableTextTest, CutsAndMasksUnprintableBytes) {
  EXPECT_EQ(LoggableText("ok\n\x01\xff."), "ok???.");
  EXPECT_EQ(LoggableText(std::string(400, 'x')).size(), 300u);
}

}  // namespace
}  // namespace larder::client::internal

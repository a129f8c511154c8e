// End to end, the real larderd on the Redis engine, in text and in JSON log format: started while
// redis-server is down it logs what it waits for and says "ready" only once Redis answers; a
// killed redis-server is an engine_lost line with its cause, its restart engine_recovered; a
// SIGTERM logs the shutdown phases; the Redis password never appears in the output.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_server.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::RedisServerProcess;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "pw-never-in-logs-7f3a";

// One parsed log line: its event and its fields (values as written, quotes removed in JSON).
struct LogLine {
  std::string level;
  std::string event;
  nlohmann::json fields;  // JSON format only.
  std::string text;
};

class LarderdRedisLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start({.extra_args = {"--requirepass", kPassword}});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    url_ = absl::StrCat("redis://:", kPassword, "@127.0.0.1:", redis_->port(), "/0");
  }

  bool json() const { return GetParam() == "json"; }

  void StartLarderd() {
    auto process = ChildProcess::Start({testing::LarderdBinaryPath(), "--listen=127.0.0.1:0",
                                        "--metrics-address=127.0.0.1:0", "--engine=redis",
                                        "--redis-url=" + url_, "--health-check-interval=100ms",
                                        "--log-format=" + GetParam()});
    ASSERT_TRUE(process.ok()) << process.status();
    larderd_ = *std::move(process);
  }

  // Every line of larderd's stderr so far, parsed; a line that does not parse fails the test.
  std::vector<LogLine> Lines() {
    std::vector<LogLine> lines;
    for (absl::string_view text : absl::StrSplit(larderd_->LogTail(1 << 20), '\n')) {
      if (text.empty()) continue;
      LogLine line;
      line.text = std::string(text);
      if (json()) {
        EXPECT_NO_THROW(line.fields = nlohmann::json::parse(text)) << text;
        if (!line.fields.is_object()) continue;
        line.level = line.fields.value("level", "");
        line.event = line.fields.value("event", "");
      } else {
        std::vector<std::string> words = absl::StrSplit(text, absl::MaxSplits(' ', 3));
        EXPECT_GE(words.size(), 3u) << text;
        if (words.size() < 3) continue;
        line.level = words[1];
        line.event = words[2];
      }
      lines.push_back(std::move(line));
    }
    return lines;
  }

  std::vector<std::string> Events() {
    std::vector<std::string> events;
    for (const LogLine& line : Lines()) events.push_back(line.event);
    return events;
  }

  // Polls the log until a line of `event` arrives; that line, or a failure naming the log.
  ::testing::AssertionResult AwaitEvent(const std::string& event, LogLine* found = nullptr) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      for (LogLine& line : Lines()) {
        if (line.event != event) continue;
        if (found != nullptr) *found = std::move(line);
        return ::testing::AssertionSuccess();
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return ::testing::AssertionFailure() << "no " << event << " line in: " << larderd_->LogTail();
  }

  // The cause field of a line, in either format.
  std::string CauseOf(const LogLine& line) const {
    if (json()) return line.fields.value("cause", "");
    const size_t at = line.text.find(" cause=");
    return at == std::string::npos ? "" : line.text.substr(at + 7);
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::string url_;
  std::unique_ptr<ChildProcess> larderd_;
};

TEST_P(LarderdRedisLogTest, StartWaitsForRedisThenTellsAnOutageAndRecovery) {
  redis_->Kill();
  ASSERT_NO_FATAL_FAILURE(StartLarderd());
  ASSERT_TRUE(AwaitEvent("start"));
  LogLine waiting;
  ASSERT_TRUE(AwaitEvent("waiting_for_engine", &waiting));
  EXPECT_EQ(waiting.level, "WARN");
  EXPECT_THAT(CauseOf(waiting), HasSubstr("redis"));
  // Not ready while Redis is down: neither on stdout nor in the log.
  EXPECT_FALSE(larderd_->WaitForLine("larderd ready", absl::Milliseconds(500)).ok());
  EXPECT_THAT(Events(), Not(Contains("ready")));

  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(larderd_->WaitForLine("larderd ready", absl::Seconds(20)).ok())
      << larderd_->LogTail();
  ASSERT_TRUE(AwaitEvent("ready"));
  EXPECT_THAT(Events(), Contains("engine_connected"));

  redis_->Kill();
  LogLine lost;
  ASSERT_TRUE(AwaitEvent("engine_lost", &lost));
  EXPECT_EQ(lost.level, "WARN");
  EXPECT_THAT(CauseOf(lost), HasSubstr(absl::StrCat("127.0.0.1:", redis_->port())));
  ASSERT_TRUE(redis_->Restart().ok());
  LogLine recovered;
  ASSERT_TRUE(AwaitEvent("engine_recovered", &recovered));
  EXPECT_EQ(recovered.level, "INFO");

  EXPECT_EQ(larderd_->Stop(), 0);
  ASSERT_TRUE(AwaitEvent("shutdown_complete"));
  const std::vector<std::string> events = Events();
  EXPECT_THAT(events, Contains("shutdown_started"));
  EXPECT_THAT(events, Contains("readiness"));
  const std::string log = larderd_->LogTail(1 << 20);
  EXPECT_THAT(log, Not(HasSubstr(kPassword)));
  EXPECT_THAT(log, HasSubstr(":***@127.0.0.1:"));  // The URL is logged, redacted.
}

INSTANTIATE_TEST_SUITE_P(Formats, LarderdRedisLogTest, ::testing::Values("text", "json"));

}  // namespace
}  // namespace larder

// The structured log line: text and JSON forms, escaping of any bytes, JSON validity.
#include "server/log/log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace larder::server {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixMillis(1796094000123);  // 2026-12-01T03:00:00.123Z

TEST(LogLineTest, TextLineHasTimeLevelEventAndFields) {
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, kNow, Severity::kWarning, "engine_lost",
                    {{"engine", "redis"}, {"cause", "connection refused"}}),
      "2026-12-01T03:00:00.123Z WARN engine_lost engine=redis cause=\"connection refused\"\n");
}

TEST(LogLineTest, TextNumbersBooleansAndDurationsAreBare) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, kNow, Severity::kInfo, "e",
                          {{"n", int64_t{-3}}, {"ok", true}, {"took", absl::Milliseconds(1500)}}),
            "2026-12-01T03:00:00.123Z INFO e n=-3 ok=true took=1.5s\n");
}

TEST(LogLineTest, TextQuotesEmptyValuesAndEscapesAnyByte) {
  const std::string value("a\"b\\c=d\ne\tf\x01\xff", 13);
  EXPECT_EQ(FormatLogLine(LogFormat::kText, kNow, Severity::kError, "e", {{"v", value}, {"x", ""}}),
            "2026-12-01T03:00:00.123Z ERROR e v=\"a\\\"b\\\\c=d\\ne\\tf\\x01\\xff\" x=\"\"\n");
}

TEST(LogLineTest, TextLineIsOneLineWhateverTheValue) {
  const std::string line = FormatLogLine(LogFormat::kText, kNow, Severity::kInfo, "e",
                                         {{"v", std::string("\n\r\n\0", 4)}});
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\r'), std::string::npos);
}

TEST(LogLineTest, JsonLineHasTsLevelEventAndFieldsInOrder) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kNow, Severity::kInfo, "ready",
                          {{"engine", "memory"}, {"principals", uint64_t{3}}, {"tls", false}}),
            "{\"ts\":\"2026-12-01T03:00:00.123Z\",\"level\":\"INFO\",\"event\":\"ready\","
            "\"engine\":\"memory\",\"principals\":3,\"tls\":false}\n");
}

TEST(LogLineTest, JsonEscapesQuotesControlsAndKeepsValidUtf8) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, kNow, Severity::kInfo, "e", {{"v", "q\"b\\n\n\x1f\x7f é €"}});
  EXPECT_THAT(line, HasSubstr(R"("v":"q\"b\\n\n\u001f\u007f é €")"));
  EXPECT_EQ(nlohmann::json::parse(line)["v"], "q\"b\\n\n\x1f\x7f é €");
}

TEST(LogLineTest, JsonTurnsBytesThatAreNotUtf8IntoTheirCodePoints) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, past U+10FFFF.
  const std::string value = "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80";
  const std::string line =
      FormatLogLine(LogFormat::kJson, kNow, Severity::kInfo, "e", {{"v", value}});
  EXPECT_THAT(line, HasSubstr(R"("v":"\u0080|\u00e2\u0082|\u00c0\u00af|\u00ed\u00a0\u0080|)"
                              R"(\u00f4\u0090\u0080\u0080")"));
  EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(LogLineTest, JsonIsValidForEveryByteInKeysAndValues) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string line = FormatLogLine(LogFormat::kJson, kNow, Severity::kError, all,
                                         {{all, all}, {"status", absl::UnavailableError(all)}});
  EXPECT_THAT(line, EndsWith("}\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line));
  EXPECT_EQ(parsed["level"], "ERROR");
  // ASCII survives exactly.
  EXPECT_EQ(parsed["status"].get<std::string>().substr(0, 128), all.substr(0, 128));
}

TEST(LogLineTest, StatusFieldIsItsMessage) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, kNow, Severity::kInfo, "e",
                          {{"cause", absl::UnavailableError("down")}, {"ok", absl::OkStatus()}}),
            "2026-12-01T03:00:00.123Z INFO e cause=down ok=OK\n");
}

TEST(LogFormatTest, ParsesTextAndJsonOnly) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("JSON", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("yaml", &format));
  EXPECT_EQ(format, LogFormat::kText);
}

}  // namespace
}  // namespace larder::server

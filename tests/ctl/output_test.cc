// larderctl's output: human text (printable values as is, binary escaped and cut), JSON lines
// with base64 bytes, and raw values.
#include "ctl/output.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace larder::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

GetResult Found(std::string value, std::optional<absl::Duration> ttl = std::nullopt) {
  GetResult result;
  result.found = true;
  result.value = std::move(value);
  result.etag = "\"0123\"";
  result.ttl = ttl;
  return result;
}

TEST(OutputTest, PrintableTextIsUtf8WithoutControlCharacters) {
  EXPECT_TRUE(IsPrintable("hello, world\n\ttabbed"));
  EXPECT_TRUE(IsPrintable("caf\xc3\xa9 \xe2\x82\xac"));
  EXPECT_TRUE(IsPrintable(""));
  EXPECT_FALSE(IsPrintable(std::string("a\0b", 3)));
  EXPECT_FALSE(IsPrintable("\x1b[31m"));
  EXPECT_FALSE(IsPrintable("\xff\xfe"));
  EXPECT_FALSE(IsPrintable("\xc3"));      // Truncated sequence.
  EXPECT_FALSE(IsPrintable("\xc0\xaf"));  // Overlong.
}

TEST(OutputTest, BinaryPreviewIsEscapedAndCutWithTheFullSize) {
  EXPECT_EQ(Preview(std::string("\0\x01\xff", 3)), "\"\\x00\\x01\\xff\"");
  const std::string preview = Preview(std::string(300, '\0'));
  EXPECT_THAT(preview, HasSubstr("(first 64 of 300 bytes)"));
  EXPECT_EQ(Preview("plain text"), "plain text");
}

TEST(OutputTest, KeysWithNewlinesAreEscaped) {
  EXPECT_EQ(KeyText("user:42"), "user:42");
  EXPECT_EQ(KeyText("a\nb"), "\"a\\nb\"");
}

TEST(OutputTest, TtlIsRoundedDownOrNone) {
  EXPECT_EQ(TtlText(std::nullopt), "none");
  EXPECT_EQ(TtlText(absl::Seconds(299) + absl::Milliseconds(999)), "4m59s");
  EXPECT_EQ(TtlText(absl::Microseconds(1500)), "1ms");
}

TEST(OutputTest, HumanGetShowsValueSizeEtagAndTtl) {
  const std::string text = FormatGet(OutputMode::kHuman, "42", Found("Ada", absl::Minutes(5)));
  EXPECT_EQ(text, "key:   42\nvalue: Ada\nsize:  3 bytes\netag:  \"0123\"\nttl:   5m\n");
  EXPECT_EQ(FormatGet(OutputMode::kHuman, "43", GetResult{}), "key:   43\n(not found)\n");
}

TEST(OutputTest, RawGetIsTheValueBytesAlone) {
  const std::string bytes("\0\n\xff", 3);
  EXPECT_EQ(FormatGet(OutputMode::kRaw, "k", Found(bytes)), bytes);
}

TEST(OutputTest, JsonGetIsOneLineWithBase64Bytes) {
  const std::string line =
      FormatGet(OutputMode::kJson, std::string("k\0", 2), Found("\xff", absl::Seconds(2)));
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const nlohmann::json json = nlohmann::json::parse(line);
  EXPECT_EQ(json["key"], absl::Base64Escape(std::string("k\0", 2)));
  EXPECT_EQ(json["value"], absl::Base64Escape("\xff"));
  EXPECT_EQ(json["found"], true);
  EXPECT_EQ(json["size"], 1);
  EXPECT_EQ(json["etag"], "\"0123\"");
  EXPECT_EQ(json["ttl_seconds"], 2.0);
  const nlohmann::json forever =
      nlohmann::json::parse(FormatGet(OutputMode::kJson, "k", Found("")));
  EXPECT_TRUE(forever["ttl_seconds"].is_null());
  const nlohmann::json miss = nlohmann::json::parse(FormatGet(OutputMode::kJson, "k", GetResult{}));
  EXPECT_EQ(miss["found"], false);
  EXPECT_FALSE(miss.contains("value"));
}

TEST(OutputTest, EveryJsonFormatParses) {
  NamespaceInfo info{"users", 3, 40};
  WatchEvent event{7, WatchEvent::Kind::kPrefix, "p"};
  for (const std::string& line :
       {FormatSet(OutputMode::kJson, "k", SetResult{true, "\"e\""}),
        FormatDelete(OutputMode::kJson, "k", false), FormatTouch(OutputMode::kJson, "k", {}),
        FormatInvalidate(OutputMode::kJson, 4), FormatStats(OutputMode::kJson, "", CacheStats{}),
        FormatNamespace(OutputMode::kJson, info), FormatHealth(OutputMode::kJson, "", "SERVING"),
        FormatWatchEvent(OutputMode::kJson, event)}) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_EQ(nlohmann::json::parse(FormatWatchEvent(OutputMode::kJson, event))["argument"],
            absl::Base64Escape("p"));
}

TEST(OutputTest, HumanLinesNameWhatHappened) {
  EXPECT_EQ(FormatDelete(OutputMode::kHuman, "k", true), "deleted k\n");
  EXPECT_EQ(FormatDelete(OutputMode::kHuman, "k", false), "not found k\n");
  EXPECT_EQ(FormatInvalidate(OutputMode::kHuman, 1), "deleted 1 entry\n");
  EXPECT_EQ(FormatInvalidate(OutputMode::kHuman, 2), "deleted 2 entries\n");
  EXPECT_EQ(FormatWatchEvent(OutputMode::kHuman, WatchEvent{1, WatchEvent::Kind::kReset, ""}),
            "1 reset\n");
  EXPECT_THAT(FormatNamespace(OutputMode::kHuman, NamespaceInfo{"users", 3, 40}),
              HasSubstr("users"));
  EXPECT_THAT(FormatStats(OutputMode::kHuman, "", CacheStats{}), HasSubstr("(all)"));
  EXPECT_THAT(FormatSet(OutputMode::kHuman, "k", SetResult{true, "\"e\""}),
              Not(HasSubstr("not stored")));
}

}  // namespace
}  // namespace larder::ctl

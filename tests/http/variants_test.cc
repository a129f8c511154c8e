#include "client/src/http/variants.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"

namespace larder::http::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

Request RequestWith(Headers headers) {
  Request request;
  request.method = "GET";
  request.path = "/page";
  request.headers = std::move(headers);
  return request;
}

StoredResponse StoredFor(const Headers& response_headers, const Request& request) {
  StoredResponse stored;
  stored.response.headers = response_headers;
  stored.meta.variant = VariantOf(response_headers, request);
  return stored;
}

TEST(VariantsTest, VaryNamesAreLowerCasedTrimmedDeduplicatedAndSorted) {
  EXPECT_THAT(VaryNames({{"Vary", " Accept-Language ,accept-encoding"}, {"vary", "ACCEPT, ,"}}),
              ElementsAre("accept", "accept-encoding", "accept-language"));
  EXPECT_THAT(VaryNames({}), ElementsAre());
}

TEST(VariantsTest, NoVaryHasNoVariantAndMatchesEveryRequest) {
  const StoredResponse stored = StoredFor({}, RequestWith({{"Accept-Language", "de"}}));
  EXPECT_EQ(stored.meta.variant, "");
  EXPECT_TRUE(VariantMatches(stored, RequestWith({{"Accept-Language", "en"}})));
}

TEST(VariantsTest, VariantIsAHexHashOfTheNamedValues) {
  EXPECT_THAT(VariantOf({{"Vary", "Accept-Language"}}, RequestWith({{"Accept-Language", "de"}})),
              MatchesRegex("[0-9a-f]{32}"));
}

TEST(VariantsTest, DifferentValuesDoNotMatch) {
  const StoredResponse german =
      StoredFor({{"Vary", "Accept-Language"}}, RequestWith({{"Accept-Language", "de"}}));
  EXPECT_FALSE(VariantMatches(german, RequestWith({{"Accept-Language", "en"}})));
  EXPECT_TRUE(VariantMatches(german, RequestWith({{"accept-language", "de"}})));
}

TEST(VariantsTest, ValuesAreComparedAfterCombiningLinesAndTrimmingAroundCommas) {
  const StoredResponse stored =
      StoredFor({{"Vary", "Accept"}}, RequestWith({{"Accept", "text/html,  application/json "}}));
  EXPECT_TRUE(VariantMatches(
      stored, RequestWith({{"Accept", "text/html"}, {"Accept", "application/json"}})));
  EXPECT_TRUE(VariantMatches(stored, RequestWith({{"Accept", " text/html , application/json"}})));
  EXPECT_FALSE(VariantMatches(stored, RequestWith({{"Accept", "application/json, text/html"}})));
}

TEST(VariantsTest, HeaderAbsentInBothMatchesButAbsentAndEmptyDiffer) {
  const StoredResponse stored = StoredFor({{"Vary", "Accept-Language"}}, RequestWith({}));
  EXPECT_TRUE(VariantMatches(stored, RequestWith({{"Accept", "x"}})));
  EXPECT_FALSE(VariantMatches(stored, RequestWith({{"Accept-Language", ""}})));
}

TEST(VariantsTest, VaryNamesCompareCaseInsensitively) {
  const Request request = RequestWith({{"Accept-Language", "de"}});
  EXPECT_EQ(VariantOf({{"Vary", "ACCEPT-LANGUAGE"}}, request),
            VariantOf({{"Vary", "accept-language"}}, request));
}

TEST(VariantsTest, VaryStarNeverMatches) {
  const Request request = RequestWith({});
  StoredResponse stored;
  stored.response.headers = {{"Vary", "Accept, *"}};
  EXPECT_FALSE(VariantMatches(stored, request));
}

TEST(VariantsTest, VariantKeyAppendsTheVariantAndStaysWithinTheKeyLimit) {
  EXPECT_EQ(VariantKey("abc", "0f"), "abc~0f");
  const std::string long_key(limits::kMaxKeyBytes, 'k');
  EXPECT_THAT(VariantKey(long_key, "0f"), MatchesRegex("[0-9a-f]{32}"));
}

}  // namespace
}  // namespace larder::http::internal

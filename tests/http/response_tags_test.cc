// The tags a response names itself (RoutePolicy::response_tags_header, the Surrogate-Key
// convention): how the header is split, where its tags go among the route's, and the limits
// that refuse the whole set.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"
#include "larder/http/key.h"
#include "larder/http/policy.h"
#include "larder/http/storable.h"

namespace larder::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Request GetItem() {
  Request request;
  request.method = "GET";
  request.path = "/items/7";
  return request;
}

Response Tagged(Headers headers) { return Response{200, std::move(headers), "{}"}; }

TEST(ResponseTagsTest, SplitsEveryFieldLineAtSpacesTabsAndCommas) {
  const Headers headers = {{"Surrogate-Key", "a b,c\td"},
                           {"Content-Type", "text/plain"},
                           {"surrogate-key", " e ,, f  "}};
  EXPECT_THAT(ResponseTags(headers, "Surrogate-Key"), ElementsAre("a", "b", "c", "d", "e", "f"));
}

TEST(ResponseTagsTest, DropsEmptyItemsAndRepeatsKeepingTheFirstPlace) {
  const Headers headers = {{"Surrogate-Key", "b a b"}, {"Surrogate-Key", ", ,a,c"}};
  EXPECT_THAT(ResponseTags(headers, "Surrogate-Key"), ElementsAre("b", "a", "c"));
  EXPECT_THAT(ResponseTags({{"Surrogate-Key", " , \t,"}}, "Surrogate-Key"), IsEmpty());
}

TEST(ResponseTagsTest, NoHeaderNamedOrPresentGivesNoTags) {
  const Headers headers = {{"Surrogate-Key", "a"}};
  EXPECT_THAT(ResponseTags(headers, ""), IsEmpty());
  EXPECT_THAT(ResponseTags(headers, "Cache-Tag"), IsEmpty());
}

TEST(ResponseTagsTest, TagsAreCaseSensitiveAndKeepOtherBytes) {
  EXPECT_THAT(ResponseTags({{"Surrogate-Key", "Item:7 item:7 \xc3\xa9;x"}}, "Surrogate-Key"),
              ElementsAre("Item:7", "item:7", "\xc3\xa9;x"));
}

TEST(StoredTagsTest, RouteTagsThenTagsForThenTheResponsesThenThePathTag) {
  RoutePolicy policy;
  policy.tags = {"items"};
  policy.tags_for = [](const Request&) { return std::vector<std::string>{"item:7"}; };
  policy.response_tags_header = "Surrogate-Key";
  auto tags = StoredTags(GetItem(), Tagged({{"Surrogate-Key", "user:1 user:2"}}), policy);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("items", "item:7", "user:1", "user:2", PathTag("/items/7")));
}

TEST(StoredTagsTest, ResponseTagsAlreadyGivenByTheRouteAreDropped) {
  RoutePolicy policy;
  policy.tags = {"items"};
  policy.tags_for = [](const Request&) { return std::vector<std::string>{"item:7"}; };
  policy.response_tags_header = "Surrogate-Key";
  auto tags = StoredTags(GetItem(), Tagged({{"Surrogate-Key", "item:7 items new"}}), policy);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("items", "item:7", "new", PathTag("/items/7")));
}

TEST(StoredTagsTest, TheHeaderIsIgnoredWhenTheRouteNamesNone) {
  RoutePolicy policy;
  auto tags = StoredTags(GetItem(), Tagged({{"Surrogate-Key", "a"}}), policy);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre(PathTag("/items/7")));
}

TEST(StoredTagsTest, ASetTooLargeWithTheResponsesTagsIsRefusedAsAWhole) {
  RoutePolicy policy;
  policy.tags = {"items"};
  policy.response_tags_header = "Surrogate-Key";
  std::string header;
  for (int i = 0; i < kMaxRouteTags - 1; ++i) absl::StrAppend(&header, "t", i, " ");
  auto full = StoredTags(GetItem(), Tagged({{"Surrogate-Key", header}}), policy);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->size(), static_cast<size_t>(limits::kMaxTagsPerEntry));
  EXPECT_EQ(full->back(), PathTag("/items/7"));
  // One more, on a second field line: nothing may be stored.
  auto over =
      StoredTags(GetItem(), Tagged({{"Surrogate-Key", header}, {"Surrogate-Key", "x"}}), policy);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StoredTagsTest, AnOversizeResponseTagIsRefused) {
  RoutePolicy policy;
  policy.response_tags_header = "Surrogate-Key";
  const std::string longest(limits::kMaxTagBytes, 'x');
  EXPECT_TRUE(StoredTags(GetItem(), Tagged({{"Surrogate-Key", longest}}), policy).ok());
  EXPECT_EQ(
      StoredTags(GetItem(), Tagged({{"Surrogate-Key", longest + "x"}}), policy).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ValidatePolicyTest, ResponseTagsHeaderMustBeAFieldName) {
  RoutePolicy policy;
  for (const char* name : {"Surrogate-Key", "Cache-Tag", "x-tags"}) {
    policy.response_tags_header = name;
    EXPECT_TRUE(ValidatePolicy(policy).ok()) << name;
  }
  for (const char* name : {"Surrogate Key", "Tags:", "a\r\nb"}) {
    policy.response_tags_header = name;
    EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(ValidatePolicyTest, ResponseDefaultTtlMustBePositiveWhenSet) {
  RoutePolicy policy;
  policy.freshness = FreshnessSource::kResponse;
  EXPECT_TRUE(ValidatePolicy(policy).ok());
  policy.response_default_ttl = absl::Seconds(1);
  EXPECT_TRUE(ValidatePolicy(policy).ok());
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Seconds(-1)}) {
    policy.response_default_ttl = bad;
    const absl::Status status = ValidatePolicy(policy);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("response_default_ttl"));
  }
  policy.freshness = FreshnessSource::kPolicy;  // Ignored there, but still refused.
  EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace larder::http

// The tags of stored responses: a route's tags (policy.tags, then tags_for's) plus the path tag,
// all of them or none. A response whose route tags are invalid or too many is served and not
// stored, so no entry can escape one of its tags' invalidation.
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"
#include "larder/http/key.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheTagsTest : public HttpCacheFixture {
 protected:
  double TagErrors() {
    return Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "tags"}});
  }
  // Sends GET /items/7 twice: the handler answers both, nothing is stored.
  void ExpectServedAndNotStored() {
    const Response first = Send(Get("/items/7"));
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "{\"render\":1}");
    EXPECT_EQ(Header(first, "X-Cache"), "MISS");
    EXPECT_EQ(Send(Get("/items/7")).body, "{\"render\":2}");
    EXPECT_EQ(renders(), 2);
    EXPECT_EQ(store_->stores(), 0);
    EXPECT_EQ(store_->size(), 0u);
    EXPECT_EQ(TagErrors(), 2);
    EXPECT_EQ(Responses("miss"), 2);
  }
};

// `count` distinct tags "t0", "t1", …
std::vector<std::string> ManyTags(int count) {
  std::vector<std::string> tags;
  for (int i = 0; i < count; ++i) tags.push_back(absl::StrCat("t", i));
  return tags;
}

TEST_F(HttpCacheTagsTest, TooManyRouteTagsAreServedAndNotStored) {
  policy_.tags = {"items"};
  policy_.tags_for = [](const Request&) { return ManyTags(kMaxRouteTags); };  // One too many.
  ExpectServedAndNotStored();
}

TEST_F(HttpCacheTagsTest, AnOversizeTagIsServedAndNotStored) {
  policy_.tags_for = [](const Request&) {
    return std::vector<std::string>{"items", std::string(limits::kMaxTagBytes + 1, 'x')};
  };
  ExpectServedAndNotStored();
}

TEST_F(HttpCacheTagsTest, AnEmptyTagIsServedAndNotStored) {
  policy_.tags_for = [](const Request&) { return std::vector<std::string>{"items", ""}; };
  ExpectServedAndNotStored();
}

TEST_F(HttpCacheTagsTest, AFullSetOfRouteTagsIsStoredWithThePathTagAndEachInvalidates) {
  policy_.tags = {"items"};
  policy_.tags_for = [](const Request&) {
    std::vector<std::string> tags = ManyTags(kMaxRouteTags - 2);
    tags.push_back(std::string(limits::kMaxTagBytes, 'x'));  // The longest valid tag.
    return tags;
  };
  Send(Get("/items/7"));
  const std::set<std::string> stored = store_->TagsOfOnly("items");
  ASSERT_EQ(stored.size(), static_cast<size_t>(limits::kMaxTagsPerEntry));
  EXPECT_EQ(stored.count("items"), 1u);
  EXPECT_EQ(stored.count(std::string(limits::kMaxTagBytes, 'x')), 1u);
  EXPECT_EQ(stored.count(PathTag("/items/7")), 1u);
  for (const std::string& tag : stored) {
    SCOPED_TRACE(tag);
    if (store_->size() == 0) Send(Get("/items/7"));  // Stored again, with every tag.
    ASSERT_EQ(store_->size(), 1u);
    EXPECT_EQ(cache_->InvalidateTag("items", tag).value_or(-1), 1);
    EXPECT_EQ(store_->size(), 0u);
  }
  EXPECT_EQ(renders(), limits::kMaxTagsPerEntry);
  EXPECT_EQ(TagErrors(), 0);
}

TEST_F(HttpCacheTagsTest, AFailedRefreshWithBadTagsKeepsServingTheStaleEntry) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  bool bad_tags = false;
  policy_.tags_for = [&bad_tags](const Request&) {
    return bad_tags ? ManyTags(kMaxRouteTags + 1) : std::vector<std::string>{"items"};
  };
  Send(Get("/items/7"));
  bad_tags = true;
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Header(Send(Get("/items/7")), "X-Cache"), "STALE");
  cache_->WaitForRefreshes();
  EXPECT_EQ(renders(), 2);
  EXPECT_EQ(TagErrors(), 1);
  EXPECT_EQ(Metric("larder_http_refreshes_total", {{"route", "items"}, {"result", "not_stored"}}),
            1);
  EXPECT_EQ(store_->Only("items")->first.response.body, "{\"render\":1}");
}

struct RouteTagsCase {
  std::string name;
  std::vector<std::string> tags;
  bool valid;
};

void PrintTo(const RouteTagsCase& tags, std::ostream* os) { *os << tags.name; }

class ValidateRouteTagsTest : public ::testing::TestWithParam<RouteTagsCase> {};

TEST_P(ValidateRouteTagsTest, AcceptsOnlyWhatAnEntryCanCarryBesideItsPathTag) {
  const absl::Status status = ValidateRouteTags(GetParam().tags);
  EXPECT_EQ(status.code(),
            GetParam().valid ? absl::StatusCode::kOk : absl::StatusCode::kInvalidArgument)
      << status;
  RoutePolicy policy;
  policy.tags = GetParam().tags;
  EXPECT_EQ(ValidatePolicy(policy).code(), status.code());
}

INSTANTIATE_TEST_SUITE_P(
    Limits, ValidateRouteTagsTest,
    ::testing::Values(RouteTagsCase{"None", {}, true},
                      RouteTagsCase{"AllPlaces", ManyTags(kMaxRouteTags), true},
                      RouteTagsCase{"OneTooMany", ManyTags(kMaxRouteTags + 1), false},
                      RouteTagsCase{"LongestTag", {std::string(limits::kMaxTagBytes, 'x')}, true},
                      RouteTagsCase{
                          "OversizeTag", {"a", std::string(limits::kMaxTagBytes + 1, 'x')}, false},
                      RouteTagsCase{"EmptyTag", {"a", ""}, false},
                      RouteTagsCase{"AnyBytes", {std::string("\0\xff", 2)}, true}),
    [](const ::testing::TestParamInfo<RouteTagsCase>& info) { return info.param.name; });

TEST(RouteTagsTest, LeaveThePathTagItsPlace) {
  EXPECT_EQ(kMaxRouteTags + 1, limits::kMaxTagsPerEntry);
  EXPECT_LE(PathTag(std::string(10000, 'p')).size(), limits::kMaxTagBytes);
  EXPECT_LE(PathTag("/" + std::string(249, 'p')).size(), limits::kMaxTagBytes);
}

}  // namespace
}  // namespace larder::http::testing

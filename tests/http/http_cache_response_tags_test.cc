// The pipeline with RoutePolicy::response_tags_header: the tags a response names are stored
// with it (in both freshness modes), InvalidateTag purges it by any of them, and a set of tags
// an entry cannot carry means served and not stored, counted like the route's own.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"
#include "larder/http/key.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheResponseTagsTest : public HttpCacheFixture,
                                  public ::testing::WithParamInterface<FreshnessSource> {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    policy_.freshness = GetParam();
    policy_.tags = {"items"};
    policy_.response_tags_header = "Surrogate-Key";
  }
  // The handler answers with these Surrogate-Key field lines (and a lifetime for kResponse).
  void RespondTagged(std::vector<std::string> lines) {
    handler_ = [lines](const Request&, int render) {
      Response response{200, {{"Cache-Control", "max-age=30"}}, absl::StrCat("render ", render)};
      for (const std::string& line : lines) response.headers.Add("Surrogate-Key", line);
      return response;
    };
  }
  double TagErrors() {
    return Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "tags"}});
  }
};

TEST_P(HttpCacheResponseTagsTest, TheResponsesTagsAreStoredAfterTheRoutesWithThePathTag) {
  RespondTagged({"product:7 user:1", "product:7,items"});
  const Response miss = Send(Get("/items/7"));
  EXPECT_EQ(Header(miss, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_EQ(store_->TagsOfOnly("items"),
            (std::set<std::string>{"items", "product:7", "user:1", PathTag("/items/7")}));
  const Response hit = Send(Get("/items/7"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  // The header stays in the stored response, every field line of it.
  EXPECT_EQ(hit.headers.GetAll("Surrogate-Key"),
            (std::vector<std::string>{"product:7 user:1", "product:7,items"}));
  EXPECT_EQ(TagErrors(), 0);
}

TEST_P(HttpCacheResponseTagsTest, InvalidateTagPurgesByAnyTagTheResponseNamed) {
  RespondTagged({"product:7 user:1"});
  for (const char* tag : {"product:7", "user:1"}) {
    SCOPED_TRACE(tag);
    Send(Get("/items/7"));
    ASSERT_EQ(store_->size(), 1u);
    EXPECT_EQ(cache_->InvalidateTag("items", tag).value_or(-1), 1);
    EXPECT_EQ(store_->size(), 0u);
  }
  EXPECT_EQ(cache_->InvalidateTag("items", "product:8").value_or(-1), 0);
  EXPECT_EQ(renders(), 2);
}

TEST_P(HttpCacheResponseTagsTest, ResponsesNamingDifferentTagsArePurgedApart) {
  handler_ = [](const Request& request, int render) {
    return Response{200,
                    {{"Cache-Control", "max-age=30"},
                     {"Surrogate-Key", request.path == "/a" ? "shared only-a" : "shared"}},
                    absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  Send(Get("/b"));
  EXPECT_EQ(cache_->InvalidateTag("items", "only-a").value_or(-1), 1);
  EXPECT_EQ(Header(Send(Get("/b")), "X-Cache"), "HIT");
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "MISS");
  EXPECT_EQ(cache_->InvalidateTag("items", "shared").value_or(-1), 2);
}

TEST_P(HttpCacheResponseTagsTest, TooManyTagsWithTheResponsesAreServedAndNotStored) {
  std::string line;
  for (int i = 0; i < kMaxRouteTags; ++i) absl::StrAppend(&line, "t", i, " ");  // One too many.
  RespondTagged({line});
  const Response first = Send(Get("/items/7"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "render 1");
  EXPECT_EQ(Header(first, "Cache-Status"), "larder; fwd=uri-miss");
  EXPECT_EQ(Send(Get("/items/7")).body, "render 2");
  EXPECT_EQ(store_->stores(), 0);
  EXPECT_EQ(TagErrors(), 2);
  EXPECT_EQ(Responses("miss"), 2);
}

TEST_P(HttpCacheResponseTagsTest, AnOversizeTagIsServedAndNotStored) {
  RespondTagged({absl::StrCat("ok ", std::string(limits::kMaxTagBytes + 1, 'x'))});
  EXPECT_EQ(Send(Get("/items/7")).body, "render 1");
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(TagErrors(), 1);
}

TEST_P(HttpCacheResponseTagsTest, ARefreshStoresTheTagsOfTheNewResponse) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  handler_ = [](const Request&, int render) {
    return Response{200,
                    {{"Cache-Control", "max-age=30"}, {"Surrogate-Key", absl::StrCat("v", render)}},
                    absl::StrCat("render ", render)};
  };
  Send(Get("/items/7"));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Header(Send(Get("/items/7")), "X-Cache"), "STALE");
  cache_->WaitForRefreshes();
  EXPECT_EQ(store_->TagsOfOnly("items"),
            (std::set<std::string>{"items", "v2", PathTag("/items/7")}));
  EXPECT_EQ(cache_->InvalidateTag("items", "v1").value_or(-1), 0);
  EXPECT_EQ(cache_->InvalidateTag("items", "v2").value_or(-1), 1);
}

TEST_P(HttpCacheResponseTagsTest, WithoutTheHeaderTheRoutesTagsAlone) {
  RespondTagged({});
  Send(Get("/items/7"));
  EXPECT_EQ(store_->TagsOfOnly("items"), (std::set<std::string>{"items", PathTag("/items/7")}));
}

INSTANTIATE_TEST_SUITE_P(BothFreshnessModes, HttpCacheResponseTagsTest,
                         ::testing::Values(FreshnessSource::kPolicy, FreshnessSource::kResponse),
                         [](const ::testing::TestParamInfo<FreshnessSource>& info) {
                           return info.param == FreshnessSource::kPolicy ? "Policy" : "Response";
                         });

}  // namespace
}  // namespace larder::http::testing

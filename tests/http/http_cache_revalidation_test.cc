// Revalidation (RFC 9111 section 4.3): a stale stored response with a validator is revalidated
// by running the handler with If-None-Match / If-Modified-Since; its 304 freshens the stored
// entry and the client gets the stored body; a full response replaces it.
#include <string>

#include "gtest/gtest.h"
#include "larder/http/conditional.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheRevalidationTest : public HttpCacheFixture {
 protected:
  void SetUp() override {
    HttpCacheFixture::SetUp();
    // Version 1 of a page; answers 304 when asked about the ETag it would send.
    handler_ = [this](const Request& request, int render) {
      seen_if_none_match_ = request.headers.Get("If-None-Match").value_or("");
      if (seen_if_none_match_ == "\"v1\"" && !changed_) {
        return Response{304, {{"ETag", "\"v1\""}, {"X-Checked", std::to_string(render)}}, ""};
      }
      return Response{200,
                      {{"ETag", changed_ ? "\"v2\"" : "\"v1\""}, {"X-Checked", "0"}},
                      absl::StrCat("render ", render)};
    };
  }
  std::string seen_if_none_match_;
  bool changed_ = false;
};

TEST_F(HttpCacheRevalidationTest, StaleEntryIsRevalidatedAndA304FreshensIt) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  const Response revalidated = Send(Get("/a"));
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  EXPECT_EQ(revalidated.status, 200);
  EXPECT_EQ(revalidated.body, "render 1");
  EXPECT_EQ(Header(revalidated, "X-Checked"), "2");
  EXPECT_EQ(Header(revalidated, "Cache-Status"), "larder; fwd=stale; stored; detail=revalidated");
  clock_.Advance(absl::Seconds(29));
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(Header(hit, "X-Checked"), "2");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheRevalidationTest, ClientsOwnConditionalGetsA304AfterRevalidation) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Send(Get("/a", {{"If-None-Match", "\"v1\""}})).status, 304);
}

TEST_F(HttpCacheRevalidationTest, FullResponseReplacesTheStoredOne) {
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  changed_ = true;
  const Response replaced = Send(Get("/a"));
  EXPECT_EQ(replaced.body, "render 2");
  EXPECT_EQ(Header(Send(Get("/a")), "ETag"), "\"v2\"");
}

TEST_F(HttpCacheRevalidationTest, LastModifiedIsSentAsIfModifiedSince) {
  const std::string last_modified = FormatHttpDate(clock_.Now() - absl::Hours(1));
  std::string seen;
  handler_ = [&](const Request& request, int render) {
    seen = request.headers.Get("If-Modified-Since").value_or("");
    return Response{200, {{"Last-Modified", last_modified}}, absl::StrCat("render ", render)};
  };
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  Send(Get("/a"));
  EXPECT_EQ(seen, last_modified);
}

TEST_F(HttpCacheRevalidationTest, BackgroundRefreshAlsoRevalidates) {
  policy_.stale_while_revalidate = absl::Seconds(60);
  Send(Get("/a"));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Header(Send(Get("/a")), "X-Cache"), "STALE");
  cache_->WaitForRefreshes();
  EXPECT_EQ(seen_if_none_match_, "\"v1\"");
  const Response hit = Send(Get("/a"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "render 1");
  EXPECT_EQ(Header(hit, "X-Checked"), "2");
}

}  // namespace
}  // namespace larder::http::testing

// Writes invalidate by RFC 9111 section 4.4: any non-error (2xx/3xx) response to an unsafe
// method removes the target's entries and those of a same-origin Location / Content-Location.
#include <string>

#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheWriteTest : public HttpCacheFixture {
 protected:
  // Stores /items/1 and /items/2, then sends `method` /items/1 answered by `answer`.
  void WriteAnswered(const std::string& method, Response answer) {
    Send(Get("/items/1"));
    Send(Get("/items/2"));
    ASSERT_EQ(store_->size(), 2u);
    handler_ = [answer](const Request&, int) { return answer; };
    Send(With(Get("/items/1"), method));
    handler_ = [](const Request&, int render) {
      return Response{200, {}, absl::StrCat("render ", render)};
    };
  }
  std::string CacheOf(const std::string& path) { return Header(Send(Get(path)), "X-Cache"); }
};

TEST_F(HttpCacheWriteTest, PostAnsweredSeeOtherInvalidatesTheTargetAndTheLocation) {
  WriteAnswered("POST", Response{303, {{"Location", "/items/2"}}, ""});
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
  EXPECT_EQ(CacheOf("/items/2"), "MISS");
}

TEST_F(HttpCacheWriteTest, PutAnsweredMovedPermanentlyInvalidates) {
  WriteAnswered("PUT", Response{301, {{"Location", "https://example.com/items/2"}}, ""});
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
  EXPECT_EQ(CacheOf("/items/2"), "HIT");  // Another scheme: another origin.
}

TEST_F(HttpCacheWriteTest, UnknownUnsafeMethodInvalidates) {
  WriteAnswered("PURGE", Response{200, {}, ""});
  EXPECT_EQ(CacheOf("/items/1"), "MISS");
}

TEST_F(HttpCacheWriteTest, RelativeContentLocationIsResolvedAgainstTheTarget) {
  WriteAnswered("PATCH", Response{200, {{"Content-Location", "2"}}, ""});
  EXPECT_EQ(CacheOf("/items/2"), "MISS");
}

TEST_F(HttpCacheWriteTest, ErrorResponseInvalidatesNothing) {
  WriteAnswered("POST", Response{409, {{"Location", "/items/2"}}, ""});
  EXPECT_EQ(CacheOf("/items/1"), "HIT");
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
}

TEST_F(HttpCacheWriteTest, LocationOnAnotherHostIsNotInvalidated) {
  WriteAnswered("POST", Response{201, {{"Location", "http://other.example/items/2"}}, ""});
  EXPECT_EQ(CacheOf("/items/2"), "HIT");
}

}  // namespace
}  // namespace larder::http::testing

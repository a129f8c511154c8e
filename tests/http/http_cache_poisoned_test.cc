// Stored records are data, not code: a record in the store that this layer would never have
// written (a header value with CR/LF/NUL, a header name that is not a token, a hop-by-hop
// field, Set-Cookie, Content-Length, an impossible status, an unknown format version) is
// refused, counted in larder_http_store_errors_total{operation="decode"}, logged without its
// values, and treated as a miss: the handler answers and its response replaces the record.
// Responses the handler renders with such headers are served but never stored.
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/key.h"
#include "tests/http/http_cache_fixture.h"
#include "tests/http/poisoned_records.h"
#include "tests/testing/status_matchers.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class PoisonedRecordTest : public HttpCacheFixture {
 protected:
  void Plant(const std::string& path, const PoisonCase& poison) {
    store_->PutRaw("items", DefaultCacheKey(Get(path), {}), PoisonedBytes(poison, clock_.Now()),
                   absl::Minutes(1));
  }
  double Refused() {
    return Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "decode"}});
  }
};

class PoisonedRecordCaseTest : public PoisonedRecordTest,
                               public ::testing::WithParamInterface<PoisonCase> {};

TEST_P(PoisonedRecordCaseTest, IsRefusedCountedAndReplacedByTheHandlersResponse) {
  Plant("/items/1", GetParam());
  const Response response = Send(Get("/items/1"));
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_EQ(Header(response, "X-Cache"), "MISS");
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=uri-miss; stored");
  EXPECT_FALSE(response.headers.Has("Set-Cookie"));
  EXPECT_FALSE(response.headers.Has("X-Note"));
  EXPECT_EQ(Refused(), 1);
  EXPECT_EQ(Responses("miss"), 1);

  // The record was replaced by the fresh render, which is served from now on.
  ASSERT_OK_AND_ASSIGN(
      StoredResponse replaced,
      internal::DecodeRecord(*store_->Raw("items", DefaultCacheKey(Get("/items/1"), {}))));
  EXPECT_EQ(replaced.response.body, "{\"render\":1}");
  const Response hit = Send(Get("/items/1"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "{\"render\":1}");
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(Refused(), 1);
}

INSTANTIATE_TEST_SUITE_P(Records, PoisonedRecordCaseTest, ::testing::ValuesIn(PoisonCases()),
                         [](const ::testing::TestParamInfo<PoisonCase>& info) {
                           return info.param.name;
                         });

TEST_F(PoisonedRecordTest, AStalePoisonedRecordIsNotServedStale) {
  policy_.stale_while_revalidate = absl::Minutes(5);
  Plant("/items/1", {"SetCookie", {"Set-Cookie", "session=stolen"}});
  clock_.Advance(absl::Seconds(31));  // Past its freshness, inside the stale window.
  const Response response = Send(Get("/items/1"));
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_FALSE(response.headers.Has("Set-Cookie"));
  EXPECT_EQ(Responses("stale"), 0);
  EXPECT_EQ(Refused(), 1);
}

TEST_F(PoisonedRecordTest, IsLoggedRateLimitedWithoutItsValues) {
  ::testing::internal::CaptureStderr();
  Plant("/items/1", {"CrLf", {"X-Note", "ok\r\nX-Injected: stolen"}});
  Send(Get("/items/1"));
  Plant("/items/2", {"CrLf", {"X-Note", "ok\r\nX-Injected: stolen"}});
  Send(Get("/items/2"));  // Within a minute of the first line: counted, not logged.
  clock_.Advance(absl::Minutes(2));
  Plant("/items/3", {"SetCookie", {"Set-Cookie", "session=stolen"}});
  Send(Get("/items/3"));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Refused(), 3);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_THAT(log, HasSubstr("route items"));
  EXPECT_THAT(log, HasSubstr("1 more suppressed"));
  EXPECT_THAT(log, Not(HasSubstr("stolen")));
  EXPECT_THAT(log, Not(HasSubstr("Injected")));
}

TEST_F(PoisonedRecordTest, ARenderWithAnUnsafeHeaderIsServedButNotStored) {
  handler_ = [](const Request&, int render) {
    return Response{200, {{"X-Note", "a\r\nX-Injected: 1"}}, absl::StrCat("r", render)};
  };
  EXPECT_EQ(Send(Get("/items/1")).body, "r1");
  EXPECT_EQ(Send(Get("/items/1")).body, "r2");
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "encode"}}),
            2);
}

TEST_F(PoisonedRecordTest, HopByHopFieldsOfARenderAreStrippedAndTheRecordIsServed) {
  handler_ = [](const Request&, int) {
    return Response{200,
                    {{"Content-Type", "text/plain"},
                     {"Connection", "close, X-Hop"},
                     {"X-Hop", "1"},
                     {"Keep-Alive", "timeout=5"},
                     {"Transfer-Encoding", "chunked"},
                     {"Proxy-Connection", "keep-alive"},
                     {"Upgrade", "h2c"},
                     {"Content-Length", "1"}},
                    "x"};
  };
  Send(Get("/items/1"));
  const Response hit = Send(Get("/items/1"));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(renders(), 1);
  for (const char* name : {"Connection", "X-Hop", "Keep-Alive", "Transfer-Encoding",
                           "Proxy-Connection", "Upgrade", "Content-Length"}) {
    EXPECT_FALSE(hit.headers.Has(name)) << name;
  }
  EXPECT_EQ(Refused(), 0);
}

TEST_F(PoisonedRecordTest, ADeniedLookupFailsOpenAndIsCountedAsALookupError) {
  store_->set_failure(absl::PermissionDeniedError("principal web may not read items"));
  const Response response = Send(Get("/items/1"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_EQ(Header(response, "Cache-Status"), "larder; fwd=bypass; detail=store-unavailable");
  EXPECT_EQ(Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "lookup"}}),
            1);
}

}  // namespace
}  // namespace larder::http::testing

// HttpCache::HeldKey and HttpCache::HandleFetched over the in-memory test double: the caller reads
// the value stored under HeldKey itself (as larder-proxy does, many requests in one MultiGet) and
// hands it over. A fresh fetched hit or 304 is answered exactly as Handle answers it and counted
// once, with no lookup of the store; everything else (stale, a value that is not a record, a
// variant stored under another key, bypassed requests, checks, unsafe methods) is nullopt and
// counts nothing. A record names neither its key nor its URL, so HandleFetched takes the key the
// value was read under and refuses a value read under another key than the request's HeldKey.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/src/http/variants.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/key.h"
#include "tests/http/bypass_cases.h"
#include "tests/http/http_cache_fixture.h"
#include "tests/http/poisoned_records.h"

namespace larder::http::testing {
namespace {

class HttpCacheFetchedTest : public HttpCacheFixture {
 protected:
  std::string HeldKey(const Request& request) { return cache_->HeldKey(request, policy_); }
  // The value stored under `request`'s HeldKey, as a batched read would have fetched it.
  std::string Read(const Request& request) {
    const std::optional<std::string> raw = store_->Raw("items", HeldKey(request));
    EXPECT_TRUE(raw.has_value()) << "nothing stored for " << request.path;
    return raw.value_or("");
  }
  std::optional<Response> Fetched(const Request& request, const std::string& value) {
    return cache_->HandleFetched(request, policy_, HeldKey(request), value);
  }
  double DecodeErrors() {
    return Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", "decode"}});
  }
};

TEST_F(HttpCacheFetchedTest, FreshFetchedHitIsWhatHandleAnswersCountedOnce) {
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(3));
  const std::string value = Read(Get("/items/1"));
  const int lookups = store_->lookups();

  const std::optional<Response> fetched = Fetched(Get("/items/1"), value);
  ASSERT_TRUE(fetched.has_value());
  EXPECT_EQ(store_->lookups(), lookups);  // No lookup of the store itself.
  EXPECT_EQ(store_->held_lookups(), 0);
  EXPECT_EQ(store_->fetched_decodes(), 1);
  EXPECT_EQ(Responses("hit"), 1);
  EXPECT_EQ(HeldHits(), 1);

  const Response handled = Send(Get("/items/1"));
  EXPECT_EQ(fetched->status, handled.status);
  EXPECT_EQ(fetched->body, handled.body);
  EXPECT_EQ(fetched->headers, handled.headers);
  EXPECT_EQ(Header(*fetched, "Cache-Status"), "larder; hit; ttl=27");
  EXPECT_EQ(Header(*fetched, "Age"), "3");
  EXPECT_EQ(Header(*fetched, "X-Cache"), "HIT");
  EXPECT_EQ(fetched->body, "{\"render\":1}");
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(Responses("hit"), 2);
  EXPECT_EQ(HeldHits(), 1);  // Handle's hit is the store's own Lookup.
}

TEST_F(HttpCacheFetchedTest, HeldKeyIsTheKeyTheRecordIsStoredUnder) {
  const Request request = Get("/items/1", {}, "b=2&a=1");
  Send(request);
  ASSERT_EQ(store_->size(), 1u);
  EXPECT_EQ(HeldKey(request), DefaultCacheKey(request, {}));
  EXPECT_TRUE(store_->Raw("items", HeldKey(request)).has_value());
  EXPECT_EQ(HeldKey(With(request, "HEAD")), HeldKey(request));  // HEAD reads GET's record.
  EXPECT_NE(HeldKey(Get("/items/2")), HeldKey(request));
}

TEST_F(HttpCacheFetchedTest, HeadIsAnsweredFromTheGetRecordAsHandleAnswersIt) {
  Send(Get("/items/1"));
  const Request head = With(Get("/items/1"), "HEAD");
  const std::optional<Response> fetched = Fetched(head, Read(head));
  ASSERT_TRUE(fetched.has_value());
  const Response handled = Send(head);
  EXPECT_EQ(fetched->status, handled.status);
  EXPECT_EQ(fetched->headers, handled.headers);
  EXPECT_EQ(fetched->body, handled.body);
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(HeldHits(), 1);
}

TEST_F(HttpCacheFetchedTest, HeldKeyIsTheKeyBuildersKey) {
  policy_.key_builder = [](const Request& request) { return "item:" + request.path; };
  Send(Get("/items/1"));
  EXPECT_EQ(HeldKey(Get("/items/1")), "item:/items/1");
  EXPECT_EQ(Fetched(Get("/items/1"), Read(Get("/items/1"))).value_or(Response{}).body,
            "{\"render\":1}");
}

TEST_F(HttpCacheFetchedTest, KeyBuilderDecliningHasNoHeldKeyAndIsNullopt) {
  Send(Get("/items/1"));
  const std::string value = Read(Get("/items/1"));
  policy_.key_builder = [](const Request&) { return std::string(); };
  EXPECT_EQ(HeldKey(Get("/items/1")), "");
  EXPECT_FALSE(Fetched(Get("/items/1"), value).has_value());
  EXPECT_EQ(store_->fetched_decodes(), 0);
  EXPECT_EQ(HeldHits(), 0);
}

TEST_F(HttpCacheFetchedTest, RouteWithChecksBeforeLookupHasNoHeldKeyAndIsNullopt) {
  Send(Get("/items/1"));
  const std::string value = Read(Get("/items/1"));
  int checks = 0;
  policy_.checks_before_lookup = {[&checks](const Request&) -> std::optional<Response> {
    ++checks;
    return std::nullopt;  // Lets every request through, but HandleFetched cannot run it.
  }};
  EXPECT_EQ(HeldKey(Get("/items/1")), "");
  EXPECT_FALSE(Fetched(Get("/items/1"), value).has_value());
  EXPECT_EQ(checks, 0);
  EXPECT_EQ(store_->fetched_decodes(), 0);
  EXPECT_EQ(HeldHits(), 0);
}

// Requests decided before any lookup: Handle must see them (a render, a write, a bypass).
class HttpCacheFetchedBypassTest : public HttpCacheFetchedTest,
                                   public ::testing::WithParamInterface<BypassCase> {};

TEST_P(HttpCacheFetchedBypassTest, HasNoHeldKeyAndIsNulloptCountingNothing) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(3));
  const std::string value = Read(Get("/items/1"));
  const double responses = AllResponses();
  const Request request = With(Get("/items/1", GetParam().headers), GetParam().method);
  EXPECT_EQ(HeldKey(request), "");
  EXPECT_FALSE(Fetched(request, value).has_value());
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(store_->fetched_decodes(), 0);
}

INSTANTIATE_TEST_SUITE_P(Requests, HttpCacheFetchedBypassTest,
                         ::testing::ValuesIn(RequestsHandleDecidesFirst()), BypassCaseName);

TEST_F(HttpCacheFetchedTest, RecordOlderThanTheRequestsMaxAgeIsNullopt) {
  policy_.honor_client_refresh = true;
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(3));
  const Request request = Get("/items/1", {{"Cache-Control", "max-age=2"}});
  EXPECT_NE(HeldKey(request), "");  // Only the record's age decides it.
  EXPECT_FALSE(Fetched(request, Read(request)).has_value());
  EXPECT_EQ(AllResponses(), 1);  // The miss that stored it.
  EXPECT_EQ(HeldHits(), 0);
}

TEST_F(HttpCacheFetchedTest, MatchingIfNoneMatchIs304CountedAsNotModified) {
  const std::string etag = Header(Send(Get("/items/1")), "ETag");
  clock_.Advance(absl::Seconds(2));
  const Request conditional = Get("/items/1", {{"If-None-Match", etag}});
  const std::optional<Response> fetched = Fetched(conditional, Read(conditional));
  ASSERT_TRUE(fetched.has_value());
  EXPECT_EQ(fetched->status, 304);
  EXPECT_EQ(fetched->body, "");
  EXPECT_EQ(Header(*fetched, "ETag"), etag);
  EXPECT_EQ(Responses("not_modified"), 1);
  EXPECT_EQ(Responses("hit"), 0);
  EXPECT_EQ(HeldHits(), 1);
  const Response handled = Send(conditional);
  EXPECT_EQ(fetched->status, handled.status);
  EXPECT_EQ(fetched->headers, handled.headers);
}

TEST_F(HttpCacheFetchedTest, StaleRecordIsNulloptAndCountsNothing) {
  policy_.stale_while_revalidate = absl::Minutes(1);
  Send(Get("/items/1"));
  clock_.Advance(absl::Seconds(31));
  const double responses = AllResponses();
  EXPECT_FALSE(Fetched(Get("/items/1"), Read(Get("/items/1"))).has_value());
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(Responses("stale"), 0);
  EXPECT_EQ(HeldHits(), 0);
  // Still stored: Handle answers it stale.
  EXPECT_EQ(Header(Send(Get("/items/1")), "X-Cache"), "STALE");
}

TEST_F(HttpCacheFetchedTest, ResponseStoredAsNoCacheIsNullopt) {
  handler_ = [](const Request&, int render) {
    return Response{200, {{"Cache-Control", "no-cache"}}, absl::StrCat("r", render)};
  };
  Send(Get("/items/1"));
  ASSERT_EQ(store_->size(), 1u);  // Stored with its ETag, to be revalidated on every use.
  EXPECT_FALSE(Fetched(Get("/items/1"), Read(Get("/items/1"))).has_value());
  EXPECT_EQ(HeldHits(), 0);
}

TEST_F(HttpCacheFetchedTest, ValueThatIsNotARecordIsNulloptAndCountsNothing) {
  Send(Get("/items/1"));
  const std::string record = Read(Get("/items/1"));
  const double responses = AllResponses();
  const std::vector<std::string> values = {"",           "not a record",
                                           "LHR",        record.substr(0, record.size() - 1),
                                           record + "x", std::string("\0\xff\x01garbage", 10)};
  for (const std::string& value : values) {
    EXPECT_FALSE(Fetched(Get("/items/1"), value).has_value()) << absl::CEscape(value);
  }
  EXPECT_EQ(store_->fetched_decodes(), static_cast<int>(values.size()));
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(DecodeErrors(), 0);
}

TEST_F(HttpCacheFetchedTest, RefusedRecordIsNulloptAndLeftToHandleToCount) {
  const PoisonCase set_cookie{"SetCookie", {"Set-Cookie", "session=stolen"}};
  const std::string key = DefaultCacheKey(Get("/items/1"), {});
  store_->PutRaw("items", key, PoisonedBytes(set_cookie, clock_.Now()), absl::Minutes(1));
  EXPECT_FALSE(Fetched(Get("/items/1"), Read(Get("/items/1"))).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(AllResponses(), 0);
  EXPECT_EQ(DecodeErrors(), 0);
  // The Handle that follows reads it again, counts the refusal and replaces it by the render.
  EXPECT_EQ(Send(Get("/items/1")).body, "{\"render\":1}");
  EXPECT_EQ(DecodeErrors(), 1);
}

TEST_F(HttpCacheFetchedTest, ValueReadUnderAnotherRequestsKeyIsNeverServed) {
  Send(Get("/items/1"));
  Send(Get("/items/2"));
  const std::string key1 = HeldKey(Get("/items/1"));
  ASSERT_NE(key1, HeldKey(Get("/items/2")));
  const double responses = AllResponses();
  // /items/1's record, read under /items/1's key, handed over with a request for /items/2.
  EXPECT_FALSE(
      cache_->HandleFetched(Get("/items/2"), policy_, key1, Read(Get("/items/1"))).has_value());
  EXPECT_EQ(AllResponses(), responses);
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(Fetched(Get("/items/2"), Read(Get("/items/2"))).value_or(Response{}).body,
            "{\"render\":2}");
}

class HttpCacheFetchedVaryTest : public HttpCacheFetchedTest {
 protected:
  void SetUp() override {
    HttpCacheFetchedTest::SetUp();
    handler_ = [](const Request& request, int render) {
      return Response{200,
                      {{"Vary", "Accept-Language"}},
                      absl::StrCat(request.headers.Get("Accept-Language").value_or("default"),
                                   " render ", render)};
    };
    Send(Language("de"));
    Send(Language("en"));  // The base key now holds the English variant.
  }
  static Request Language(const std::string& language) {
    return Get("/page", {{"Accept-Language", language}});
  }
  // The value stored under the variant key of `language` (the base key, "~" and a hash).
  std::string VariantValue(const std::string& language) {
    const std::string key = internal::VariantKey(
        HeldKey(Language(language)),
        internal::VariantOf(Headers{{"Vary", "Accept-Language"}}, Language(language)));
    const std::optional<std::string> raw = store_->Raw("items", key);
    EXPECT_TRUE(raw.has_value()) << "no variant stored for " << language;
    return raw.value_or("");
  }
};

TEST_F(HttpCacheFetchedVaryTest, BaseRecordMatchingTheRequestIsServed) {
  ASSERT_EQ(HeldKey(Language("en")), HeldKey(Language("de")));  // Variants share the base key.
  const std::optional<Response> english = Fetched(Language("en"), Read(Language("en")));
  ASSERT_TRUE(english.has_value());
  EXPECT_EQ(english->body, "en render 2");
  EXPECT_EQ(Header(*english, "X-Cache"), "HIT");
  EXPECT_EQ(HeldHits(), 1);
  EXPECT_EQ(Responses("hit"), 1);
}

TEST_F(HttpCacheFetchedVaryTest, VariantStoredUnderAnotherKeyIsNulloptWithoutReadingIt) {
  const int lookups = store_->lookups();
  // The base record (English) was fetched; the German variant lives under its own key.
  EXPECT_FALSE(Fetched(Language("de"), Read(Language("de"))).has_value());
  EXPECT_EQ(store_->lookups(), lookups);
  EXPECT_EQ(store_->fetched_decodes(), 1);  // The base record only.
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(AllResponses(), 2);  // The two misses of SetUp.
  // Handle reads the German variant from the store.
  EXPECT_EQ(Send(Language("de")).body, "de render 1");
}

TEST_F(HttpCacheFetchedVaryTest, RecordOfAnotherVariantIsNotServed) {
  // The German record handed over for an English request (a caller that mixed up its values):
  // the record names its variant, which does not match, and the English one is not fetched.
  EXPECT_FALSE(Fetched(Language("en"), VariantValue("de")).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(AllResponses(), 2);
}

TEST_F(HttpCacheFetchedVaryTest, VariantNeverStoredIsNullopt) {
  EXPECT_FALSE(Fetched(Language("fr"), Read(Language("fr"))).has_value());
  EXPECT_EQ(HeldHits(), 0);
  EXPECT_EQ(AllResponses(), 2);
}

}  // namespace
}  // namespace larder::http::testing

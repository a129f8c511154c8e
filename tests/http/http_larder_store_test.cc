// The pipeline over the production store (NewLarderResponseStore over larder::Client) against a
// larder.v1.Cache in this process (tests/client/fake_larder.h): a poisoned record planted in
// larder is refused, counted and replaced by the render; a larder that denies the client's token
// leaves the route working (fail-open), counted as a lookup error and a denial. The store's
// DecodeFetched decodes the value its Store wrote, as read back by the client, and refuses
// anything else; HandleFetched over it counts one client hit; a request whose URL holds only
// another Vary variant counts a miss, not a hit; MultiGet with record_lookup=false
// counts no lookup error (hits and misses: tests/client/client_test.cc, with a real larderd).
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "larder/http/http_cache.h"
#include "larder/http/key.h"
#include "larder/http/larder_response_store.h"
#include "prometheus/registry.h"
#include "tests/client/fake_larder.h"
#include "tests/client/metrics_reader.h"
#include "tests/http/poisoned_records.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::http::testing {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::FakeLarder;
using ::larder::testing::MetricValue;
using ::larder::testing::StatusCodeIs;

class HttpLarderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientOptions options;
    options.target = larder_.address();
    options.deadline = absl::Seconds(10);
    options.metrics_registry = registry_;
    options.clock = &clock_;
    ASSERT_OK_AND_ASSIGN(client_, Client::Create(options));
    store_ = NewLarderResponseStore(client_);
    HttpCacheOptions cache_options;
    cache_options.clock = &clock_;
    cache_options.metrics_registry = registry_;
    ASSERT_OK_AND_ASSIGN(cache_, HttpCache::Create(store_, cache_options));
    policy_.cache_namespace = "items";
    policy_.ttl = absl::Seconds(30);
  }

  static Request Get(const std::string& path) {
    Request request;
    request.method = "GET";
    request.host = "example.com";
    request.path = path;
    return request;
  }
  std::string Key() const { return DefaultCacheKey(Get("/items/1"), {}); }
  Response Send() {
    auto handler = MakeRouteHandler(
        [this](const Request&) {
          return Response{200,
                          {{"Content-Type", "application/json"}},
                          absl::StrCat("{\"render\":", ++renders_, "}")};
        },
        Get("/items/1"));
    return cache_->Handle(Get("/items/1"), policy_, *handler);
  }
  // A page whose handler varies it by Accept-Language, asked for in `language`.
  Response SendInLanguage(const std::string& language) {
    Request request = Get("/items/1");
    request.headers.Add("Accept-Language", language);
    auto handler = MakeRouteHandler(
        [this](const Request& r) {
          return Response{
              200,
              {{"Content-Type", "text/plain"}, {"Vary", "Accept-Language"}},
              absl::StrCat(r.headers.Get("Accept-Language").value_or(""), " ", ++renders_)};
        },
        request);
    return cache_->Handle(request, policy_, *handler);
  }
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) const {
    return MetricValue(*registry_, name, labels);
  }
  double StoreErrors(const std::string& operation) const {
    return Metric("larder_http_store_errors_total", {{"route", "items"}, {"operation", operation}});
  }
  double Lookups(const std::string& result) const {
    return Metric("larder_client_requests_total", {{"namespace", "items"}, {"result", result}});
  }

  FakeClock clock_;
  FakeLarder larder_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Client> client_;
  std::shared_ptr<ResponseStore> store_;
  std::unique_ptr<HttpCache> cache_;
  RoutePolicy policy_;
  std::atomic<int> renders_{0};
};

class PoisonedInLarderTest : public HttpLarderStoreTest,
                             public ::testing::WithParamInterface<PoisonCase> {};

TEST_P(PoisonedInLarderTest, IsRefusedCountedAndReplacedByTheRender) {
  larder_.Plant("items", Key(), PoisonedBytes(GetParam(), clock_.Now()));
  const Response response = Send();
  EXPECT_EQ(response.body, "{\"render\":1}");
  EXPECT_EQ(response.headers.Get("X-Cache"), "MISS");
  EXPECT_EQ(StoreErrors("decode"), 1);
  EXPECT_EQ(Lookups("miss"), 1);
  ASSERT_OK_AND_ASSIGN(StoredResponse replaced,
                       internal::DecodeRecord(larder_.Stored("items", Key()).value_or("")));
  EXPECT_EQ(replaced.response.body, "{\"render\":1}");
  const Response hit = Send();
  EXPECT_EQ(hit.headers.Get("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "{\"render\":1}");
  EXPECT_EQ(Lookups("hit"), 1);
}

INSTANTIATE_TEST_SUITE_P(Records, PoisonedInLarderTest, ::testing::ValuesIn(PoisonCases()),
                         [](const ::testing::TestParamInfo<PoisonCase>& info) {
                           return info.param.name;
                         });

TEST_F(HttpLarderStoreTest, ADeniedTokenLeavesTheRouteWorking) {
  larder_.set_answer(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                  "principal web lacks read on namespace items"));
  const Response first = Send();
  const Response second = Send();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "{\"render\":1}");
  EXPECT_EQ(second.body, "{\"render\":2}");
  EXPECT_EQ(first.headers.Get("Cache-Status"), "larder; fwd=bypass; detail=store-unavailable");
  EXPECT_EQ(larder_.attempts(), 2);  // One lookup each, never retried; nothing stored.
  EXPECT_EQ(StoreErrors("lookup"), 2);
  EXPECT_EQ(Lookups("error"), 2);
  EXPECT_EQ(
      Metric("larder_client_denied_total", {{"namespace", "items"}, {"code", "PERMISSION_DENIED"}}),
      2);
}

v1::LeaseResponse TokenAnswer(const std::string& token) {
  v1::LeaseResponse answer;
  answer.set_lease_token(token);
  return answer;
}

TEST_F(HttpLarderStoreTest, GrantedLeaseTokenRidesOnTheSetOfTheBaseKey) {
  larder_.ScriptLeases({TokenAnswer("t1")});
  Response miss = Send();
  EXPECT_EQ(miss.headers.Get("Cache-Status").value_or(""), "larder; fwd=uri-miss; stored");
  ASSERT_EQ(larder_.lease_requests().size(), 1u);
  EXPECT_EQ(larder_.lease_requests()[0].key(), Key());
  EXPECT_EQ(larder_.lease_requests()[0].lease_ttl().seconds(), 5);
  EXPECT_THAT(larder_.set_tokens(), ::testing::ElementsAre("t1"));
  EXPECT_EQ(Metric("larder_http_leases_total", {{"route", "items"}, {"result", "granted"}}), 1);
}

TEST_F(HttpLarderStoreTest, RefusedLeasedSetIsStaleSetPreventedNotAStoreError) {
  larder_.ScriptLeases({TokenAnswer("t1")});
  larder_.set_refuse_leased_sets(true);
  Response miss = Send();
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.headers.Get("Cache-Status").value_or(""), "larder; fwd=uri-miss");
  EXPECT_EQ(StoreErrors("store"), -1);  // Never counted: no such series.
  EXPECT_EQ(
      Metric("larder_http_leases_total", {{"route", "items"}, {"result", "stale_set_prevented"}}),
      1);
  EXPECT_FALSE(larder_.Stored("items", Key()).has_value());
}

TEST_F(HttpLarderStoreTest, LarderdWithoutLeasesStoresWithoutAToken) {
  Send();  // No script: Lease answers UNIMPLEMENTED.
  Send();
  EXPECT_EQ(renders_.load(), 1);
  EXPECT_THAT(larder_.set_tokens(), ::testing::ElementsAre(""));
}

// The value under Key() as a batched read fetches it: read without counting a lookup.
absl::StatusOr<GetResult> ReadUncounted(Client& client, const std::string& key) {
  GetOptions options;
  options.record_lookup = false;
  return client.Get("items", key, options);
}

TEST_F(HttpLarderStoreTest, DecodeFetchedDecodesTheValueItsStoreWrote) {
  Send();
  ASSERT_OK_AND_ASSIGN(GetResult read, ReadUncounted(*client_, Key()));
  ASSERT_TRUE(read.found);
  const double hits = Lookups("hit");
  const std::optional<StoredResponse> decoded = store_->DecodeFetched(read.value);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->response.status, 200);
  EXPECT_EQ(decoded->response.body, "{\"render\":1}");
  EXPECT_EQ(decoded->response.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(decoded->meta.stored_at, clock_.Now());
  EXPECT_EQ(decoded->meta.fresh_until, clock_.Now() + absl::Seconds(30));
  EXPECT_FALSE(decoded->meta.etag.empty());
  EXPECT_EQ(Lookups("hit"), hits);  // Decoding counts nothing.
  EXPECT_EQ(Lookups("miss"), 1);    // The Send that stored it.
}

TEST_F(HttpLarderStoreTest, DecodeFetchedRefusesWhatIsNotARecord) {
  Send();
  const std::string record = larder_.Stored("items", Key()).value_or("");
  ASSERT_FALSE(record.empty());
  const PoisonCase set_cookie{"SetCookie", {"Set-Cookie", "session=stolen"}};
  for (const std::string& value :
       {std::string(), std::string("not a record"), record.substr(0, record.size() - 1),
        record + "x", PoisonedBytes(set_cookie, clock_.Now())}) {
    EXPECT_FALSE(store_->DecodeFetched(value).has_value()) << absl::CEscape(value);
  }
  EXPECT_EQ(StoreErrors("decode"), -1);  // Never counted here: Handle's Lookup counts it.
}

TEST_F(HttpLarderStoreTest, FetchedHitIsCountedOnceAsAClientHit) {
  Send();  // A miss, stored.
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(GetResult read, ReadUncounted(*client_, Key()));
  const std::optional<Response> fetched =
      cache_->HandleFetched(Get("/items/1"), policy_, Key(), read.value);
  ASSERT_TRUE(fetched.has_value());
  EXPECT_EQ(fetched->body, "{\"render\":1}");
  EXPECT_EQ(fetched->headers.Get("Age"), "2");
  EXPECT_EQ(Lookups("hit"), 1);
  EXPECT_EQ(Lookups("miss"), 1);  // Only the first Send's.
  EXPECT_EQ(Metric("larder_http_responses_total", {{"route", "items"}, {"cache", "hit"}}), 1);
}

TEST_F(HttpLarderStoreTest, ARequestOnlyAnotherVariantCouldAnswerIsCountedAMiss) {
  EXPECT_EQ(SendInLanguage("de").body, "de 1");
  // The URL's key holds the German page: read, found fresh, but not this request's variant.
  EXPECT_EQ(SendInLanguage("en").body, "en 2");
  EXPECT_EQ(Lookups("miss"), 2);
  EXPECT_EQ(Lookups("hit"), 0);
  EXPECT_EQ(SendInLanguage("en").body, "en 2");  // The URL's key now holds the English page.
  EXPECT_EQ(SendInLanguage("de").body, "de 1");  // Under its variant key.
  EXPECT_EQ(Lookups("hit"), 2);
  EXPECT_EQ(Lookups("miss"), 2);
}

TEST_F(HttpLarderStoreTest, MultiGetWithoutRecordLookupCountsNoLookupError) {
  // The fake larder has no MultiGet: every one fails with UNIMPLEMENTED.
  auto multi_get = [this](std::optional<MultiGetOptions> options) {
    absl::Notification done;
    absl::Status status;
    auto callback = [&](absl::StatusOr<std::vector<GetResult>> results) {
      status = results.status();
      done.Notify();
    };
    if (options.has_value()) {
      client_->MultiGetAsync("items", {Key(), "absent"}, *options, callback);
    } else {
      client_->MultiGetAsync("items", {Key(), "absent"}, callback);
    }
    done.WaitForNotification();
    return status;
  };
  EXPECT_THAT(multi_get(MultiGetOptions{.record_lookup = false}),
              StatusCodeIs(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(Lookups("error"), -1);
  EXPECT_THAT(multi_get(std::nullopt), StatusCodeIs(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(Lookups("error"), 1);
}

}  // namespace
}  // namespace larder::http::testing

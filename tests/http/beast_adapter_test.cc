// The Boost.Beast adapter: the same pipeline behind Beast's message types, proving the core
// needs no particular framework.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "larder/beast/cached.h"
#include "tests/http/in_memory_response_store.h"
#include "tests/testing/fake_clock.h"

namespace larder::beast {
namespace {

namespace bhttp = boost::beast::http;

TEST(BeastAdapterTest, CachesRevalidatesAndAnswersHead) {
  larder::testing::FakeClock clock;
  auto store = std::make_shared<http::testing::InMemoryResponseStore>(clock);
  http::HttpCacheOptions options;
  options.clock = &clock;
  auto cache = *http::HttpCache::Create(store, options);
  http::RoutePolicy policy;
  policy.cache_namespace = "beast";
  int renders = 0;
  Handler cached = Cached(*cache, policy, [&renders](const BeastRequest& request) {
    BeastResponse response{bhttp::status::ok, request.version()};
    response.set(bhttp::field::content_type, "application/json");
    response.body() = absl::StrCat("{\"render\":", ++renders, "}");
    response.prepare_payload();
    return response;
  });

  BeastRequest get{bhttp::verb::get, "/items/1?b=2&a=1", 11};
  get.set(bhttp::field::host, "example.com");
  const BeastResponse miss = cached(get);
  BeastRequest reordered{bhttp::verb::get, "/items/1?a=1&b=2", 11};
  reordered.set(bhttp::field::host, "example.com");
  const BeastResponse hit = cached(reordered);
  EXPECT_EQ(miss.result(), bhttp::status::ok);
  EXPECT_EQ(miss["X-Cache"], "MISS");
  EXPECT_EQ(hit["X-Cache"], "HIT");
  EXPECT_EQ(hit.body(), miss.body());
  EXPECT_EQ(hit[bhttp::field::content_length], std::to_string(miss.body().size()));

  BeastRequest conditional = get;
  conditional.set(bhttp::field::if_none_match, std::string(miss[bhttp::field::etag]));
  const BeastResponse not_modified = cached(conditional);
  EXPECT_EQ(not_modified.result(), bhttp::status::not_modified);
  EXPECT_TRUE(not_modified.body().empty());

  BeastRequest head = get;
  head.method(bhttp::verb::head);
  const BeastResponse head_response = cached(head);
  EXPECT_TRUE(head_response.body().empty());
  EXPECT_EQ(head_response[bhttp::field::content_length], std::to_string(miss.body().size()));
  EXPECT_EQ(renders, 1);
}

TEST(BeastAdapterTest, StaleResponseIsRevalidatedWithTheStoredEtagReplacingTheClients) {
  larder::testing::FakeClock clock;
  auto store = std::make_shared<http::testing::InMemoryResponseStore>(clock);
  http::HttpCacheOptions options;
  options.clock = &clock;
  auto cache = *http::HttpCache::Create(store, options);
  http::RoutePolicy policy;
  policy.cache_namespace = "beast";
  policy.ttl = absl::Seconds(10);
  std::vector<std::string> seen;  // The If-None-Match fields of each run, joined by "|".
  Handler cached = Cached(*cache, policy, [&seen](const BeastRequest& request) {
    std::string if_none_match;
    auto [begin, end] = request.equal_range(bhttp::field::if_none_match);
    for (auto it = begin; it != end; ++it)
      absl::StrAppend(&if_none_match, "|", std::string(it->value()));
    seen.push_back(if_none_match);
    const bool not_modified = if_none_match == "|\"v1\"";
    BeastResponse response{not_modified ? bhttp::status::not_modified : bhttp::status::ok,
                           request.version()};
    response.set(bhttp::field::etag, "\"v1\"");
    if (!not_modified) response.body() = absl::StrCat("render ", seen.size());
    return response;
  });

  BeastRequest get{bhttp::verb::get, "/docs/7", 11};
  cached(get);
  clock.Advance(absl::Seconds(11));
  BeastRequest client_conditional = get;
  client_conditional.insert("if-none-match", "\"client\"");  // Lower case: the same field.
  const BeastResponse revalidated = cached(client_conditional);
  EXPECT_EQ(revalidated.result(), bhttp::status::ok);
  EXPECT_EQ(revalidated.body(), "render 1");
  EXPECT_NE(std::string(revalidated["Cache-Status"]).find("detail=revalidated"), std::string::npos);
  EXPECT_EQ(seen, (std::vector<std::string>{"", "|\"v1\""}));
}

TEST(BeastAdapterTest, CoreRequestHasTheDecodedPathAndTheScheme) {
  BeastRequest request{bhttp::verb::get, "/caf%C3%A9/%37?q=a%20b#frag", 11};
  request.set(bhttp::field::host, "example.com");
  const http::Request core = ToCoreRequest(request, "https");
  EXPECT_EQ(core.path, "/caf\xC3\xA9/7");
  EXPECT_EQ(core.query, "q=a%20b");
  EXPECT_EQ(core.scheme, "https");
  EXPECT_EQ(ToCoreRequest(request).scheme, "http");
}

TEST(BeastAdapterTest, WriteToAnEncodedPathInvalidatesTheDecodedOne) {
  larder::testing::FakeClock clock;
  auto store = std::make_shared<http::testing::InMemoryResponseStore>(clock);
  http::HttpCacheOptions options;
  options.clock = &clock;
  auto cache = *http::HttpCache::Create(store, options);
  http::RoutePolicy policy;
  policy.cache_namespace = "beast";
  int renders = 0;
  Handler handler = Cached(*cache, policy, [&renders](const BeastRequest& request) {
    BeastResponse response{bhttp::status::ok, request.version()};
    response.body() = absl::StrCat("render ", ++renders);
    return response;
  });
  BeastRequest get{bhttp::verb::get, "/items/7", 11};
  handler(get);
  BeastRequest encoded_get{bhttp::verb::get, "/items/%37", 11};
  EXPECT_EQ(handler(encoded_get)["X-Cache"], "HIT");
  EXPECT_EQ(handler(encoded_get)["Accept-Ranges"], "none");
  BeastRequest put{bhttp::verb::put, "/item%73/%37", 11};
  handler(put);
  EXPECT_EQ(handler(get)["X-Cache"], "MISS");
  EXPECT_EQ(renders, 3);  // The GET, the PUT, the GET after the invalidation.
}

}  // namespace
}  // namespace larder::beast

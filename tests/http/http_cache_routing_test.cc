// The pipeline's handling of methods, keys and checks: HEAD from the GET entry, writes that
// invalidate, query and vary keys, namespaces, checks before lookup. Cases ported from
// fastapi-cache, fastapi-caching-route and FastAPI-CacheX are named after their behaviour.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheRoutingTest : public HttpCacheFixture {};

TEST_F(HttpCacheRoutingTest, HeadIsServedFromTheGetEntry) {
  const Response get = Send(Get("/items"));
  const Response head = Send(With(Get("/items"), "HEAD"));
  EXPECT_EQ(renders(), 1);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(Header(head, "Content-Length"), absl::StrCat(get.body.size()));
  EXPECT_EQ(Header(head, "ETag"), Header(get, "ETag"));
  EXPECT_EQ(Header(head, "X-Cache"), "HIT");
  EXPECT_TRUE(head.headers.Has("Age"));
}

TEST_F(HttpCacheRoutingTest, HeadRevalidatesAgainstTheGetEntry) {
  const std::string etag = Header(Send(Get("/items")), "ETag");
  const Response head = Send(With(Get("/items", {{"If-None-Match", etag}}), "HEAD"));
  EXPECT_EQ(head.status, 304);
  EXPECT_EQ(renders(), 1);
}

TEST_F(HttpCacheRoutingTest, HeadMissRunsTheHandlerAndStoresNothing) {
  Send(With(Get("/items"), "HEAD"));
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Header(Send(Get("/items")), "X-Cache"), "MISS");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheRoutingTest, CustomKeyBuilderSeesGetForHead) {
  std::vector<std::string> methods;
  policy_.key_builder = [&](const Request& r) {
    methods.push_back(r.method);
    return absl::StrCat(r.path, "|", r.headers.Get("X-Tenant").value_or(""));
  };
  Send(Get("/items", {{"X-Tenant", "a"}}));
  EXPECT_EQ(Send(With(Get("/items", {{"X-Tenant", "a"}}), "HEAD")).status, 200);
  EXPECT_EQ(renders(), 1);
  EXPECT_THAT(methods, ::testing::ElementsAre("GET", "GET"));
}

TEST_F(HttpCacheRoutingTest, NonGetIsNeverCached) {
  handler_ = [](const Request&, int render) { return Response{200, {}, absl::StrCat(render)}; };
  EXPECT_EQ(Send(With(Get("/uncached_put"), "PUT")).body, "1");
  const Response second = Send(With(Get("/uncached_put"), "PUT"));
  EXPECT_EQ(second.body, "2");
  EXPECT_FALSE(second.headers.Has("X-Cache"));
  EXPECT_FALSE(second.headers.Has("Cache-Control"));
  EXPECT_EQ(Header(second, "Cache-Status"), "larder; fwd=method");
  EXPECT_EQ(Responses("bypass"), 2);
}

TEST_F(HttpCacheRoutingTest, SuccessfulWriteInvalidatesEveryEntryOfItsPath) {
  policy_.vary = {"Accept-Language"};
  Send(Get("/users/1"));
  Send(Get("/users/1", {}, "fields=name"));
  Send(Get("/users/1", {{"Accept-Language", "de"}}));
  Send(Get("/users/2"));
  ASSERT_EQ(store_->size(), 4u);
  Send(With(Get("/users/1"), "PATCH"));
  EXPECT_EQ(store_->size(), 1u);
  EXPECT_EQ(Header(Send(Get("/users/1")), "X-Cache"), "MISS");
  EXPECT_EQ(Header(Send(Get("/users/2")), "X-Cache"), "HIT");  // Partial invalidation.
}

TEST_F(HttpCacheRoutingTest, FailedWriteInvalidatesNothing) {
  Send(Get("/users/1"));
  handler_ = [](const Request&, int) { return Response{409, {}, "conflict"}; };
  Send(With(Get("/users/1"), "PUT"));
  EXPECT_EQ(store_->size(), 1u);
}

TEST_F(HttpCacheRoutingTest, WriteInvalidatesItsLocationToo) {
  Send(Get("/users"));
  Send(Get("/users/9"));
  handler_ = [](const Request&, int) {
    return Response{201, {{"Location", "/users/9?created=1"}}, ""};
  };
  Send(With(Get("/users"), "POST"));
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheRoutingTest, StoredEntriesCarryPolicyAndPathTags) {
  policy_.tags = {"items"};
  policy_.tags_for = [](const Request& r) { return std::vector<std::string>{"q:" + r.query}; };
  Send(Get("/items/7", {}, "a=1"));
  EXPECT_EQ(store_->TagsOfOnly("items"),
            (std::set<std::string>{"items", "q:a=1", "path:/items/7"}));
  ASSERT_TRUE(cache_->InvalidateTag("items", "items").ok());
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheRoutingTest, LarderTtlCoversTheStaleWindows) {
  policy_.stale_while_revalidate = absl::Seconds(5);
  policy_.stale_if_error = absl::Seconds(60);
  Send(Get("/flaky"));
  auto [stored, ttl] = *store_->Only("items");
  EXPECT_EQ(ttl, absl::Seconds(90));
  EXPECT_EQ(stored.meta.fresh_until - stored.meta.stored_at, absl::Seconds(30));
}

TEST_F(HttpCacheRoutingTest, QueryOrderSharesOneEntry) {
  Send(Get("/query", {}, "a=a&b=b"));
  EXPECT_EQ(Header(Send(Get("/query", {}, "b=b&a=a")), "X-Cache"), "HIT");
  EXPECT_EQ(Header(Send(Get("/query", {}, "b=c&a=a")), "X-Cache"), "MISS");
}

TEST_F(HttpCacheRoutingTest, OnlyDeclaredQueryParametersCount) {
  policy_.query_params = std::vector<std::string>{"q", "page"};
  Send(Get("/search", {}, "q=tea&page=1&utm_source=mail"));
  EXPECT_EQ(Header(Send(Get("/search", {}, "page=1&q=tea&utm_source=ad")), "X-Cache"), "HIT");
  EXPECT_EQ(Header(Send(Get("/search", {}, "q=tea&page=2")), "X-Cache"), "MISS");
}

TEST_F(HttpCacheRoutingTest, VaryHeadersArePartOfTheDefaultKey) {
  policy_.vary = {"Accept-Language"};
  handler_ = [](const Request& r, int) {
    return Response{200, {}, r.headers.Get("accept-language").value_or("missing")};
  };
  const Response en = Send(Get("/", {{"Accept-Language", "en"}}));
  const Response ru = Send(Get("/", {{"Accept-Language", "ru"}}));
  const Response en_again = Send(Get("/", {{"Accept-Language", "en"}}));
  EXPECT_EQ(en.body, "en");
  EXPECT_EQ(ru.body, "ru");
  EXPECT_EQ(Header(ru, "X-Cache"), "MISS");
  EXPECT_EQ(en_again.body, "en");
  EXPECT_EQ(Header(en_again, "X-Cache"), "HIT");
  EXPECT_EQ(Header(en_again, "Vary"), "Accept-Language");
  EXPECT_EQ(renders(), 2);
}

TEST_F(HttpCacheRoutingTest, NamespacesDoNotShareEntries) {
  RoutePolicy other = policy_;
  other.cache_namespace = "other";
  Send(Get("/"));
  EXPECT_EQ(Header(Send(Get("/"), other), "X-Cache"), "MISS");
}

TEST_F(HttpCacheRoutingTest, ChecksRunBeforeACachedResponseIsServed) {
  int checks = 0;
  policy_.checks_before_lookup.push_back([&](const Request& r) -> std::optional<Response> {
    ++checks;
    if (r.headers.Get("X-API-Key") == "secret") return std::nullopt;
    return Response{401, {}, "unauthorized"};
  });
  Send(Get("/private", {{"X-API-Key", "secret"}}));
  EXPECT_EQ(Send(Get("/private")).status, 401);
  EXPECT_EQ(Send(Get("/private", {{"X-API-Key", "wrong"}})).status, 401);
  const Response hit = Send(Get("/private", {{"X-API-Key", "secret"}}));
  EXPECT_EQ(Header(hit, "X-Cache"), "HIT");
  EXPECT_EQ(checks, 4);
  EXPECT_EQ(renders(), 1);
}

TEST_F(HttpCacheRoutingTest, EmptyKeyFromKeyBuilderBypasses) {
  policy_.key_builder = [](const Request&) { return std::string(); };
  Send(Get("/a"));
  Send(Get("/a"));
  EXPECT_EQ(renders(), 2);
  EXPECT_EQ(store_->size(), 0u);
}

TEST(PolicyTest, ValidatesFields) {
  RoutePolicy policy;
  EXPECT_TRUE(ValidatePolicy(policy).ok());
  policy.cache_namespace = "bad namespace";
  EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = RoutePolicy{};
  policy.ttl = absl::ZeroDuration();
  EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = RoutePolicy{};
  policy.tags = {""};
  EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = RoutePolicy{};
  policy.stale_if_error = absl::Seconds(-1);
  EXPECT_EQ(ValidatePolicy(policy).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PolicyTest, StorageTtlIsTtlPlusTheLongerStaleWindow) {
  RoutePolicy policy;
  policy.ttl = absl::Seconds(1);
  policy.stale_while_revalidate = absl::Seconds(5);
  policy.stale_if_error = absl::Seconds(60);
  EXPECT_EQ(StorageTtl(policy), absl::Seconds(61));
}

}  // namespace
}  // namespace larder::http::testing

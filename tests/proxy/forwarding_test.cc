#include "proxy/forwarding.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/http/policy.h"

namespace larder::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

IncomingRequest Incoming(std::string method, std::string target, http::Headers headers) {
  IncomingRequest incoming;
  incoming.method = std::move(method);
  incoming.target = std::move(target);
  incoming.headers = std::move(headers);
  incoming.client_address = "10.0.0.9";
  return incoming;
}

TEST(HopByHopTest, KnowsTheFixedListWhateverTheCase) {
  for (const char* name :
       {"Connection", "keep-alive", "Proxy-Connection", "Proxy-Authenticate", "PROXY-AUTHORIZATION",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    EXPECT_TRUE(IsHopByHop(name)) << name;
  }
  for (const char* name : {"Host", "Content-Length", "Authorization", "Trailers", "Via"}) {
    EXPECT_FALSE(IsHopByHop(name)) << name;
  }
}

TEST(HopByHopTest, RemovesTheListAndEveryFieldNamedInConnection) {
  http::Headers headers{{"Connection", "keep-alive, X-Secret ,x-other"},
                        {"Connection", "Y-Too"},
                        {"Keep-Alive", "timeout=5"},
                        {"Transfer-Encoding", "chunked"},
                        {"X-Secret", "1"},
                        {"X-Other", "2"},
                        {"Y-Too", "3"},
                        {"Accept", "*/*"},
                        {"Upgrade", "websocket"}};
  RemoveHopByHop(headers);
  EXPECT_THAT(headers.fields(), ElementsAre(Pair("Accept", "*/*")));
}

TEST(ViaTest, AppendsToTheList) {
  http::Headers headers;
  AppendVia(headers);
  EXPECT_EQ(headers.GetJoined("Via"), "1.1 larder-proxy");
  http::Headers relayed{{"Via", "1.0 fred"}, {"Via", "1.1 cdn"}};
  AppendVia(relayed);
  EXPECT_THAT(relayed.fields(), ElementsAre(Pair("Via", "1.0 fred, 1.1 cdn, 1.1 larder-proxy")));
}

TEST(BuildUpstreamRequestTest, KeepsTheRawTargetBodyAndEndToEndFields) {
  IncomingRequest incoming = Incoming("POST", "/items/%37/a%2Fb?q=a+b&x=%20",
                                      {{"Host", "shop.example"},
                                       {"Content-Type", "application/json"},
                                       {"Connection", "close"},
                                       {"Proxy-Authorization", "Basic eA=="},
                                       {"If-Match", "\"v1\""}});
  incoming.body = "{\"a\":1}";
  UpstreamRequest upstream = BuildUpstreamRequest(incoming);
  EXPECT_EQ(upstream.method, "POST");
  EXPECT_EQ(upstream.target, "/items/%37/a%2Fb?q=a+b&x=%20");
  EXPECT_EQ(upstream.body, "{\"a\":1}");
  EXPECT_EQ(upstream.headers.Get("Host"), "shop.example");
  EXPECT_EQ(upstream.headers.Get("If-Match"), "\"v1\"");
  EXPECT_FALSE(upstream.headers.Has("Connection"));
  EXPECT_FALSE(upstream.headers.Has("Proxy-Authorization"));
  EXPECT_EQ(upstream.headers.Get("Via"), "1.1 larder-proxy");
  EXPECT_EQ(upstream.headers.Get("X-Forwarded-For"), "10.0.0.9");
  EXPECT_EQ(upstream.headers.Get("X-Forwarded-Proto"), "http");
  EXPECT_EQ(upstream.headers.Get("X-Forwarded-Host"), "shop.example");
}

TEST(BuildUpstreamRequestTest, AppendsToForwardedForAndKeepsTheClientsProtoAndHost) {
  UpstreamRequest upstream = BuildUpstreamRequest(Incoming("GET", "/",
                                                           {{"Host", "internal:8080"},
                                                            {"X-Forwarded-For", "1.2.3.4"},
                                                            {"X-Forwarded-For", "5.6.7.8"},
                                                            {"X-Forwarded-Proto", "https"},
                                                            {"X-Forwarded-Host", "public.ex"}}));
  EXPECT_EQ(upstream.headers.GetAll("X-Forwarded-For"),
            std::vector<std::string>{"1.2.3.4, 5.6.7.8, 10.0.0.9"});
  EXPECT_EQ(upstream.headers.Get("X-Forwarded-Proto"), "https");
  EXPECT_EQ(upstream.headers.Get("X-Forwarded-Host"), "public.ex");
}

TEST(BuildUpstreamRequestTest, SetsNoForwardedHostWithoutHost) {
  UpstreamRequest upstream = BuildUpstreamRequest(Incoming("GET", "/", {}));
  EXPECT_FALSE(upstream.headers.Has("X-Forwarded-Host"));
  EXPECT_FALSE(upstream.headers.Has("Host"));
}

TEST(RenderRequestTest, StripsTheClientsConditionalsUnlessKept) {
  const http::Headers conditionals{
      {"If-None-Match", "\"a\""}, {"If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"},
      {"If-Match", "\"b\""},      {"If-Unmodified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"},
      {"If-Range", "\"c\""},      {"Accept", "text/html"}};
  UpstreamRequest request{"GET", "/p", conditionals, ""};
  EXPECT_THAT(RenderRequestFor(request, /*keep_conditionals=*/false).headers.fields(),
              ElementsAre(Pair("Accept", "text/html")));
  EXPECT_EQ(RenderRequestFor(request, /*keep_conditionals=*/true).headers, conditionals);
}

TEST(RenderRequestTest, AsksForGetInsteadOfHead) {
  EXPECT_EQ(RenderRequestFor({"HEAD", "/p", {}, ""}, false).method, "GET");
  EXPECT_EQ(RenderRequestFor({"DELETE", "/p", {}, ""}, true).method, "DELETE");
}

TEST(KeepsClientConditionalsTest, OnlyForRequestsTheCacheBypasses) {
  const http::RoutePolicy policy;
  struct Case {
    const char* method;
    http::Headers headers;
    bool keeps;
  };
  for (const Case& c : std::vector<Case>{
           {"GET", {}, false},
           {"HEAD", {{"If-None-Match", "\"a\""}}, false},
           {"GET", {{"Cache-Control", "max-age=0"}}, false},
           {"GET", {{"Authorization", "Bearer t"}}, true},
           {"GET", {{"Cookie", "session=1"}}, true},
           {"GET", {{"Cache-Control", "no-store"}}, true},
           {"POST", {}, true},
           {"PUT", {{"If-Match", "\"v\""}}, true},
       }) {
    http::Request request;
    request.method = c.method;
    request.path = "/p";
    request.headers = c.headers;
    EXPECT_EQ(KeepsClientConditionals(request, policy), c.keeps) << c.method;
  }
}

TEST(FailureResponseTest, TimeoutsAre504AndTheRest502) {
  struct Case {
    UpstreamFailure failure;
    int status;
    const char* body;
    const char* reason;
  };
  for (const Case& c : std::vector<Case>{
           {UpstreamFailure::kConnect, 502, "upstream unavailable\n", "connect"},
           {UpstreamFailure::kProtocol, 502, "upstream unavailable\n", "protocol"},
           {UpstreamFailure::kTooLarge, 502, "upstream response too large\n", "too_large"},
           {UpstreamFailure::kTimeout, 504, "upstream timed out\n", "timeout"}}) {
    const http::Response response = FailureResponse(c.failure);
    EXPECT_EQ(response.status, c.status);
    EXPECT_EQ(response.body, c.body);
    EXPECT_EQ(response.headers.Get("Content-Type"), "text/plain");
    EXPECT_EQ(response.headers.Get("Cache-Control"), "no-store");
    EXPECT_EQ(FailureReason(c.failure), c.reason);
  }
}

TEST(CoreRequestTest, CarriesTheDecodedPathRawQueryHostAndFields) {
  const IncomingRequest incoming =
      Incoming("GET", "/items/%37?b=2&a=1", {{"Host", "shop"}, {"Accept-Language", "de"}});
  const http::Request core = CoreRequestOf(incoming, http::DecodePath(TargetPath(incoming.target)));
  EXPECT_EQ(core.scheme, "http");
  EXPECT_EQ(core.method, "GET");
  EXPECT_EQ(core.host, "shop");
  EXPECT_EQ(core.path, "/items/7");
  EXPECT_EQ(core.query, "b=2&a=1");
  EXPECT_EQ(core.headers.Get("Accept-Language"), "de");
  EXPECT_EQ(TargetPath("/a%20b"), "/a%20b");
  EXPECT_EQ(TargetPath("*"), "*");
}

TEST(CacheOutcomeTest, ReadsHowTheCacheAnsweredFromCacheStatus) {
  struct Case {
    const char* cache_status;
    const char* outcome;
  };
  for (const Case& c : std::vector<Case>{
           {"larder; hit; ttl=12", "hit"},
           {"larder; fwd=uri-miss; collapsed", "hit"},
           {"larder; fwd=uri-miss; stored", "miss"},
           {"larder; fwd=stale; stored", "miss"},
           {"larder; fwd=request", "miss"},
           {"larder; detail=only-if-cached", "miss"},
           {"larder; hit; ttl=-3; detail=stale-while-revalidate", "stale"},
           {"larder; fwd=stale; fwd-status=502; ttl=-9; detail=stale-if-error", "stale"},
           {"larder; fwd=stale; stored; detail=revalidated", "revalidated"},
           {"larder; fwd=stale; collapsed; detail=revalidated", "revalidated"},
           {"larder; fwd=bypass; detail=authorization", "bypass"},
           {"larder; fwd=bypass; detail=\"store-unavailable\"", "bypass"},
           {"larder; fwd=request; detail=no-store", "bypass"},
           {"larder; fwd=method", "bypass"},
           {"", "bypass"},
       }) {
    http::Headers headers;
    if (*c.cache_status != '\0') headers.Add("Cache-Status", c.cache_status);
    EXPECT_EQ(CacheOutcome(headers), c.outcome) << c.cache_status;
  }
}

}  // namespace
}  // namespace larder::proxy

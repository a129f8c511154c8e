#include "larder/http/outgoing.h"

#include <string>

#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "larder/http/cache_status.h"

namespace larder::http {
namespace {

Request Get(Headers headers = {}) {
  Request request;
  request.method = "GET";
  request.path = "/a";
  request.headers = std::move(headers);
  return request;
}

Response Ok(std::string body = "hello", Headers headers = {}) {
  return Response{200, std::move(headers), std::move(body)};
}

std::string CacheControlFor(const RoutePolicy& policy, Response response, Request request = Get()) {
  Decorate(response, request, policy, Delivery{}, OutgoingOptions{});
  return response.headers.Get("Cache-Control").value_or("<none>");
}

TEST(OutgoingTest, EtagComesFromTheBody) {
  Response response = Ok("hello");
  EXPECT_EQ(EnsureEtag(response), StrongEtagFor("hello"));
  EXPECT_EQ(response.headers.Get("ETag"), StrongEtagFor("hello"));
}

TEST(OutgoingTest, HandlersOwnEtagIsKept) {
  Response response = Ok("hello", {{"ETag", "W/\"custom\""}});
  EXPECT_EQ(EnsureEtag(response), "W/\"custom\"");
  EXPECT_EQ(response.headers.GetAll("ETag").size(), 1u);
}

TEST(OutgoingTest, ErrorsGetNoEtag) {
  Response response{500, {}, "down"};
  EXPECT_EQ(EnsureEtag(response), "");
  EXPECT_FALSE(response.headers.Has("ETag"));
}

TEST(OutgoingTest, NoClientDirectiveSendsNoCache) {
  EXPECT_EQ(CacheControlFor(RoutePolicy{}, Ok()), "no-cache");
}

TEST(OutgoingTest, ClientDirectivesFromPolicy) {
  RoutePolicy policy;
  policy.client.is_public = true;
  policy.client.max_age = absl::Seconds(30);
  EXPECT_EQ(CacheControlFor(policy, Ok()), "public, max-age=30");
  policy.client = {};
  policy.client.no_cache = true;
  policy.client.must_revalidate = true;
  EXPECT_EQ(CacheControlFor(policy, Ok()), "no-cache, must-revalidate");
  policy.client = {};
  policy.client.immutable = true;
  policy.client.max_age = absl::Hours(24 * 365);
  EXPECT_EQ(CacheControlFor(policy, Ok()), "max-age=31536000, immutable");
}

TEST(OutgoingTest, HandlersOwnCacheControlIsKept) {
  RoutePolicy policy;
  policy.client.is_public = true;
  EXPECT_EQ(CacheControlFor(policy, Ok("x", {{"Cache-Control", "private, no-store"}})),
            "private, no-store");
}

TEST(OutgoingTest, SetCookieMakesPublicPrivate) {
  RoutePolicy policy;
  policy.client.is_public = true;
  policy.client.max_age = absl::Seconds(60);
  EXPECT_EQ(CacheControlFor(policy, Ok("x", {{"Set-Cookie", "a=1"}})), "private, max-age=60");
}

TEST(OutgoingTest, AuthorizationOnUnsharedRouteIsPrivateNoCache) {
  EXPECT_EQ(CacheControlFor(RoutePolicy{}, Ok(), Get({{"Authorization", "Bearer a"}})),
            "private, no-cache");
  RoutePolicy shared;
  shared.shared = true;
  EXPECT_EQ(CacheControlFor(shared, Ok(), Get({{"Authorization", "Bearer a"}})), "no-cache");
}

TEST(OutgoingTest, VaryMergesPolicyNames) {
  RoutePolicy policy;
  policy.vary = {"Accept-Language", "Accept-Encoding"};
  Response response = Ok("x", {{"Vary", "accept-encoding"}});
  Decorate(response, Get(), policy, Delivery{}, OutgoingOptions{});
  EXPECT_EQ(response.headers.Get("Vary"), "accept-encoding, Accept-Language");
}

TEST(OutgoingTest, AgeCacheHeaderAndCacheStatus) {
  Response response = Ok();
  Delivery delivery;
  delivery.cache_result = "HIT";
  delivery.status.hit = true;
  delivery.status.ttl = absl::Seconds(27);
  delivery.age = absl::Milliseconds(3900);
  OutgoingOptions options;
  options.cache_header = "X-My-Cache";
  Decorate(response, Get(), RoutePolicy{}, delivery, options);
  EXPECT_EQ(response.headers.Get("Age"), "3");
  EXPECT_EQ(response.headers.Get("X-My-Cache"), "HIT");
  EXPECT_FALSE(response.headers.Has("X-Cache"));
  EXPECT_EQ(response.headers.Get("Cache-Status"), "larder; hit; ttl=27");
}

TEST(OutgoingTest, AgeIsNeverNegative) {
  Response response = Ok();
  Delivery delivery;
  delivery.age = absl::Seconds(-30);  // Another host's clock ran ahead.
  Decorate(response, Get(), RoutePolicy{}, delivery, OutgoingOptions{});
  EXPECT_EQ(response.headers.Get("Age"), "0");
}

TEST(OutgoingTest, HeadDropsBodyAndAnnouncesItsLength) {
  Request head = Get();
  head.method = "HEAD";
  Response response = Ok("12345");
  Decorate(response, head, RoutePolicy{}, Delivery{}, OutgoingOptions{});
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(response.headers.Get("Content-Length"), "5");
}

struct CacheStatusCase {
  std::string name;
  CacheStatus status;
  std::string expected;
};

class CacheStatusTest : public ::testing::TestWithParam<CacheStatusCase> {};

TEST_P(CacheStatusTest, Formats) {
  EXPECT_EQ(FormatCacheStatus("larder", GetParam().status), GetParam().expected);
}

TEST(CacheStatusNameTest, UnprintableCacheNameIsQuotedPrintably) {
  EXPECT_EQ(FormatCacheStatus("edge\ncache", CacheStatus{}), "\"edge?cache\"");
  EXPECT_EQ(FormatCacheStatus("my \"cache\"", CacheStatus{}), "\"my \\\"cache\\\"\"");
}

CacheStatus Status(std::function<void(CacheStatus&)> set) {
  CacheStatus status;
  set(status);
  return status;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9211, CacheStatusTest,
    ::testing::Values(
        CacheStatusCase{"Hit", Status([](auto& s) { s.hit = true; }), "larder; hit"},
        CacheStatusCase{"MissStored",
                        Status([](auto& s) { s.forward = Forward::kUriMiss, s.stored = true; }),
                        "larder; fwd=uri-miss; stored"},
        CacheStatusCase{"StaleHit", Status([](auto& s) {
                          s.hit = true, s.ttl = absl::Milliseconds(-1500),
                          s.detail = "stale-while-revalidate";
                        }),
                        "larder; hit; ttl=-2; detail=stale-while-revalidate"},
        CacheStatusCase{"StaleIfError", Status([](auto& s) {
                          s.forward = Forward::kStale, s.forward_status = 500,
                          s.detail = "stale-if-error";
                        }),
                        "larder; fwd=stale; fwd-status=500; detail=stale-if-error"},
        CacheStatusCase{"Collapsed",
                        Status([](auto& s) { s.forward = Forward::kUriMiss, s.collapsed = true; }),
                        "larder; fwd=uri-miss; collapsed"},
        CacheStatusCase{"Bypass", Status([](auto& s) {
                          s.forward = Forward::kBypass, s.detail = "store unavailable";
                        }),
                        "larder; fwd=bypass; detail=\"store unavailable\""},
        CacheStatusCase{"Method", Status([](auto& s) { s.forward = Forward::kMethod; }),
                        "larder; fwd=method"},
        CacheStatusCase{"Request", Status([](auto& s) { s.forward = Forward::kRequest; }),
                        "larder; fwd=request"},
        // Found by http_key_fuzz (corpus: regression-cache-status-ttl-out-of-range): an infinite
        // or huge ttl gave 16-19 digits, which no Structured Fields parser accepts.
        CacheStatusCase{"InfiniteTtl", Status([](auto& s) { s.ttl = absl::InfiniteDuration(); }),
                        "larder; ttl=999999999999999"},
        CacheStatusCase{"HugeNegativeTtl",
                        Status([](auto& s) { s.ttl = -absl::Hours(int64_t{1} << 40); }),
                        "larder; ttl=-999999999999999"},
        // Found by http_key_fuzz (regression-cache-status-unprintable-name): CR, LF and other bytes
        // outside printable ASCII were copied into the header.
        CacheStatusCase{"UnprintableDetail",
                        Status([](auto& s) { s.detail = "bad\r\nSet-Cookie: x\x7f\xc3\xa9"; }),
                        "larder; detail=\"bad??Set-Cookie: x???\""}),
    [](const ::testing::TestParamInfo<CacheStatusCase>& info) { return info.param.name; });

}  // namespace
}  // namespace larder::http

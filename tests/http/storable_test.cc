#include "larder/http/storable.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

struct StorableCase {
  std::string name;
  std::string method = "GET";
  Headers request_headers;
  int status = 200;
  Headers response_headers;
  bool shared = false;
  bool ignore_cookies = false;
  std::string reason;  // Empty: storable.
};

class StorableTest : public ::testing::TestWithParam<StorableCase> {};

TEST_P(StorableTest, Verdict) {
  const StorableCase& c = GetParam();
  Request request;
  request.method = c.method;
  request.headers = c.request_headers;
  Response response;
  response.status = c.status;
  response.headers = c.response_headers;
  RoutePolicy policy;
  policy.shared = c.shared;
  policy.ignore_cookies = c.ignore_cookies;
  policy.cached_statuses = {200, 203, 500};
  const StoreVerdict verdict = CheckStorable(request, response, policy);
  EXPECT_EQ(verdict.storable, c.reason.empty());
  EXPECT_EQ(verdict.reason, c.reason);
}

StorableCase Case(std::string name, std::function<void(StorableCase&)> set) {
  StorableCase c;
  c.name = std::move(name);
  set(c);
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, StorableTest,
    ::testing::Values(
        Case("PlainOkIsStored", [](auto&) {}),
        Case("OtherSuccessStatusListedIsStored", [](auto& c) { c.status = 203; }),
        Case("ReturnedNotFoundIsNotStored", [](auto& c) { c.status = 404, c.reason = "status"; }),
        Case("PartialContentIsNotStored", [](auto& c) { c.status = 206, c.reason = "status"; }),
        Case("ServerErrorNeverStoredEvenWhenListed",
             [](auto& c) { c.status = 500, c.reason = "status"; }),
        Case("ResponseNoStore",
             [](auto& c) {
               c.response_headers = {{"Cache-Control", "no-store"}}, c.reason = "no-store";
             }),
        Case("ResponseNoStoreInListAnyCase",
             [](auto& c) {
               c.response_headers = {{"Cache-Control", "max-age=5 , NO-STORE"}},
               c.reason = "no-store";
             }),
        Case("ResponsePrivate",
             [](auto& c) {
               c.response_headers = {{"Cache-Control", "Private, max-age=5"}}, c.reason = "private";
             }),
        Case("OtherDirectivesStillStored",
             [](auto& c) {
               c.response_headers = {{"Cache-Control", "x-private-hint, public"}};
             }),
        Case("SetCookie",
             [](auto& c) {
               c.response_headers = {{"Set-Cookie", "sid=secret; Path=/"}}, c.reason = "set-cookie";
             }),
        Case("VaryStar",
             [](auto& c) {
               c.response_headers = {{"Vary", "Accept, *"}}, c.reason = "vary-star";
             }),
        Case("AuthorizationNotShared",
             [](auto& c) {
               c.request_headers = {{"Authorization", "Bearer a"}}, c.reason = "authorization";
             }),
        Case("AuthorizationOnSharedRoute",
             [](auto& c) {
               c.request_headers = {{"Authorization", "Bearer a"}}, c.shared = true;
             }),
        Case("CookieRequestIsPrivateByDefault",
             [](auto& c) {
               c.request_headers = {{"Cookie", "session=alice"}}, c.reason = "cookie";
             }),
        Case("CookieRequestOnRouteIgnoringCookies",
             [](auto& c) {
               c.request_headers = {{"Cookie", "session=alice"}}, c.ignore_cookies = true;
             }),
        Case("RequestNoStore",
             [](auto& c) {
               c.request_headers = {{"Cache-Control", "no-store"}}, c.reason = "request-no-store";
             }),
        Case("HeadRenderIsNotStored", [](auto& c) { c.method = "HEAD", c.reason = "head"; }),
        Case("PostIsNotStored", [](auto& c) { c.method = "POST", c.reason = "method"; })),
    [](const ::testing::TestParamInfo<StorableCase>& info) { return info.param.name; });

TEST(StorableHeadersTest, DropsHopByHopLengthAgeSetCookieAndOwnHeaders) {
  Headers headers{{"Content-Type", "text/plain"},
                  {"Connection", "close, X-Hop"},
                  {"X-Hop", "1"},
                  {"Keep-Alive", "timeout=5"},
                  {"Transfer-Encoding", "chunked"},
                  {"Content-Length", "4"},
                  {"Age", "999"},
                  {"X-Cache", "MISS"},
                  {"Cache-Status", "larder; fwd=uri-miss"},
                  {"Proxy-Authenticate", "Basic"},
                  {"Set-Cookie", "session=alice"},
                  {"set-cookie2", "old=1"},
                  {"ETag", "\"e\""},
                  {"X-Total-Count", "42"}};
  EXPECT_THAT(StorableHeaders(headers, "X-Cache").fields(),
              ElementsAre(Pair("Content-Type", "text/plain"), Pair("ETag", "\"e\""),
                          Pair("X-Total-Count", "42")));
}

}  // namespace
}  // namespace larder::http

// The bytes larder-proxy's front end writes for a response (proxy/response_writer.h): the status
// line, the response's own fields in order, and the framing the proxy owns (Content-Length,
// Connection), checked byte for byte.
#include "proxy/response_writer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Write(const http::Response& response, ResponseFraming framing = {}) {
  std::string out;
  AppendResponse(response, framing, out);
  return out;
}

ResponseFraming Head() {
  ResponseFraming framing;
  framing.head_request = true;
  return framing;
}

TEST(AppendResponseTest, BodyGetsItsOwnContentLengthReplacingAWrongOne) {
  const http::Response response{
      200, {{"Content-Type", "text/plain"}, {"content-length", "99"}, {"ETag", "\"e\""}}, "hello"};
  EXPECT_EQ(Write(response),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"e\"\r\n"
            "Content-Length: 5\r\n\r\nhello");
}

TEST(AppendResponseTest, EmptyBodyGetsContentLengthZero) {
  EXPECT_EQ(Write(http::Response{404, {}, ""}),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST(AppendResponseTest, TransferEncodingAndConnectionOfTheResponseAreNotSent) {
  const http::Response response{200,
                                {{"Transfer-Encoding", "chunked"},
                                 {"Connection", "keep-alive"},
                                 {"X-Kept", "1"},
                                 {"connection", "close"}},
                                "abc"};
  EXPECT_EQ(Write(response), "HTTP/1.1 200 OK\r\nX-Kept: 1\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(AppendResponseTest, NoContentHasNoBodyAndNoContentLength) {
  const http::Response response{204, {{"Content-Length", "4"}, {"X-A", "b"}}, "body"};
  EXPECT_EQ(Write(response), "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n");
}

TEST(AppendResponseTest, InformationalHasNoBodyAndNoContentLength) {
  EXPECT_EQ(Write(http::Response{100, {{"Content-Length", "4"}}, "body"}),
            "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(Write(http::Response{103, {{"Link", "</s.css>; rel=preload"}}, "body"}),
            "HTTP/1.1 103 \r\nLink: </s.css>; rel=preload\r\n\r\n");
}

TEST(AppendResponseTest, NotModifiedKeepsTheGivenContentLengthAndSendsNoBody) {
  const http::Response response{304, {{"ETag", "\"e\""}, {"Content-Length", "42"}}, "stray"};
  EXPECT_EQ(Write(response),
            "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 42\r\n\r\n");
}

TEST(AppendResponseTest, NotModifiedWithoutContentLengthGetsNone) {
  EXPECT_EQ(Write(http::Response{304, {{"ETag", "\"e\""}}, ""}),
            "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n");
}

TEST(AppendResponseTest, HeadKeepsTheGivenContentLengthAndNeverSendsTheBody) {
  const http::Response response{200, {{"Content-Length", "1000"}}, "abc"};
  EXPECT_EQ(Write(response, Head()), "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
}

TEST(AppendResponseTest, HeadWithoutContentLengthGetsTheBodysLength) {
  const http::Response response{200, {{"Content-Type", "text/plain"}}, "abcd"};
  EXPECT_EQ(Write(response, Head()),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n");
}

TEST(AppendResponseTest, HeadOfABodilessStatusGetsNoContentLength) {
  EXPECT_EQ(Write(http::Response{204, {}, ""}, Head()), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(AppendResponseTest, CloseSendsConnectionClose) {
  ResponseFraming framing;
  framing.close = true;
  EXPECT_EQ(Write(http::Response{200, {}, "x"}, framing),
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
}

TEST(AppendResponseTest, Http10KeepAliveSendsConnectionKeepAlive) {
  ResponseFraming framing;
  framing.http10_keep_alive = true;
  EXPECT_EQ(Write(http::Response{200, {}, "x"}, framing),
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx");
}

TEST(AppendResponseTest, CloseWinsOverKeepAlive) {
  ResponseFraming framing;
  framing.close = true;
  framing.http10_keep_alive = true;
  const std::string out = Write(http::Response{200, {}, "x"}, framing);
  EXPECT_THAT(out, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(out, Not(HasSubstr("keep-alive")));
}

TEST(AppendResponseTest, NoConnectionFieldByDefault) {
  EXPECT_THAT(Write(http::Response{200, {}, "x"}), Not(HasSubstr("Connection")));
}

TEST(AppendResponseTest, FieldOrderAndRepeatsArePreserved) {
  const http::Response response{
      200, {{"Set-Cookie", "a=1"}, {"X-Z", "z"}, {"Set-Cookie", "b=2"}, {"Vary", "Accept"}}, ""};
  EXPECT_EQ(Write(response),
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Z: z\r\nSet-Cookie: b=2\r\nVary: Accept\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(AppendResponseTest, UnknownStatusHasAnEmptyReason) {
  EXPECT_EQ(Write(http::Response{599, {}, ""}), "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n");
}

TEST(AppendResponseTest, AppendsAfterWhatTheBufferHolds) {
  std::string out = "HTTP/1.1 100 Continue\r\n\r\n";
  AppendResponse(http::Response{200, {}, "ok"}, {}, out);
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

TEST(ReasonPhraseTest, KnownAndUnknownCodes) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(304), "Not Modified");
  EXPECT_EQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(299), "");
  EXPECT_EQ(ReasonPhrase(0), "");
}

TEST(PlainResponseTest, IsUncachableTextWithTheGivenStatus) {
  const http::Response response = PlainResponse(503, "proxy overloaded\n");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "proxy overloaded\n");
  EXPECT_EQ(response.headers,
            (http::Headers{{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}));
  EXPECT_EQ(Write(response),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Cache-Control: no-store\r\nContent-Length: 17\r\n\r\nproxy overloaded\n");
}

}  // namespace
}  // namespace larder::proxy

// larder-proxy's epoll front end (proxy/front_end.h) over real sockets: who answers (the loop at
// once, or a worker), what reaches the application, bodies by length and chunked, pipelining,
// HEAD, keep-alive and close, and 100-continue. Limits, refusals, timeouts and Stop are in
// front_end_limits_test.cc.
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/proxy/front_end_fixture.h"

namespace larder::proxy::testing {
namespace {

TEST_F(FrontEndTest, InlineAnswerRunsOnTheLoopNotOnAWorker) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse at_once =
      Exchange(client, "GET /inline/a HTTP/1.1\r\nHost: h\r\nX-Echo: e1\r\n\r\n");
  const RawResponse worker = Exchange(client, "GET /worker/b HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(at_once.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(Field(at_once, "X-Answered-By"), "inline");
  EXPECT_EQ(Field(at_once, "X-Echo"), "e1");
  EXPECT_EQ(Field(at_once, "Connection"), "<none>");  // HTTP/1.1 keeps the connection.
  EXPECT_EQ(Field(worker, "X-Answered-By"), "worker");

  const std::optional<std::thread::id> loop = app_.AtOnceThread("/inline/a");
  const std::optional<std::thread::id> loop_again = app_.AtOnceThread("/worker/b");
  const std::optional<std::thread::id> worker_thread = app_.AnswerThread("/worker/b");
  ASSERT_TRUE(loop.has_value() && loop_again.has_value() && worker_thread.has_value());
  EXPECT_EQ(*loop, *loop_again);     // The one loop asked the app about both requests,
  EXPECT_NE(*loop, *worker_thread);  // and a worker answered the one it could not.
  EXPECT_NE(*loop, std::this_thread::get_id());
  EXPECT_FALSE(app_.AnswerThread("/inline/a").has_value());
  EXPECT_EQ(app_.answer_calls(), 1);
}

TEST_F(FrontEndTest, WorkerGetsTheRequestAsSent) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response =
      Exchange(client, "DELETE /items/7?q=%20a HTTP/1.1\r\nHost: h\r\nX-Echo: hello there\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Field(response, "X-Answered-By"), "worker");
  EXPECT_EQ(Field(response, "X-Method"), "DELETE");
  EXPECT_EQ(Field(response, "X-Target"), "/items/7?q=%20a");
  EXPECT_EQ(Field(response, "X-Echo"), "hello there");
  EXPECT_EQ(Field(response, "X-Client"), "127.0.0.1");
  EXPECT_EQ(Field(response, "Content-Length"), "0");
  EXPECT_EQ(response.body, "");
}

TEST_F(FrontEndTest, ContentLengthBodyReachesTheApp) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const std::string body("a\0b\r\n\r\nc", 8);
  const RawResponse worker =
      Exchange(client, "POST /worker HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n" + body);
  EXPECT_EQ(Field(worker, "X-Method"), "POST");
  EXPECT_EQ(worker.body, body);
  const RawResponse at_once =
      Exchange(client, "PUT /inline HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
  EXPECT_EQ(Field(at_once, "X-Answered-By"), "inline");
  EXPECT_EQ(at_once.body, "xyz");
}

TEST_F(FrontEndTest, ChunkedBodySentInPiecesIsDecoded) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(
      client.Send("POST /worker HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe"));
  for (const char* piece : {"llo\r", "\n6;ext=1\r\n wor", "ld\r\n0\r\n", "X-Trailer: t\r\n\r\n"}) {
    absl::SleepFor(absl::Milliseconds(20));
    ASSERT_TRUE(client.Send(piece));
  }
  const std::optional<RawResponse> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello world");
  // The connection is ready for the next request.
  EXPECT_EQ(Exchange(client, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

TEST_F(FrontEndTest, PipelinedRequestsAreAnsweredOneAtATimeInOrder) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(
      client.Send("GET /block/1 HTTP/1.1\r\nHost: h\r\n\r\n"
                  "GET /inline/2 HTTP/1.1\r\nHost: h\r\n\r\n"
                  "POST /worker/3 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nz"));
  ASSERT_TRUE(app_.WaitForBlocked(1));
  absl::SleepFor(absl::Milliseconds(100));
  // While the first is answered the next waits unread: the inline one does not overtake it.
  EXPECT_FALSE(app_.AtOnceThread("/inline/2").has_value());
  EXPECT_TRUE(client.pending().empty());
  app_.Release();
  const std::optional<RawResponse> first = client.Read();
  const std::optional<RawResponse> second = client.Read();
  const std::optional<RawResponse> third = client.Read();
  ASSERT_TRUE(first.has_value() && second.has_value() && third.has_value());
  EXPECT_EQ(Field(*first, "X-Target"), "/block/1");
  EXPECT_EQ(Field(*first, "X-Answered-By"), "worker");
  EXPECT_EQ(Field(*second, "X-Target"), "/inline/2");
  EXPECT_EQ(Field(*second, "X-Answered-By"), "inline");
  EXPECT_EQ(Field(*third, "X-Target"), "/worker/3");
  EXPECT_EQ(third->body, "z");
}

TEST_F(FrontEndTest, HeadResponseCarriesTheLengthButNoBody) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  // Pipelined: a body sent after a HEAD response would be read as the next response's head.
  ASSERT_TRUE(
      client.Send("HEAD /inline/with-body HTTP/1.1\r\nHost: h\r\n\r\n"
                  "HEAD /worker/with-body HTTP/1.1\r\nHost: h\r\n\r\n"
                  "GET /inline/with-body/after HTTP/1.1\r\nHost: h\r\n\r\n"));
  for (const char* target : {"/inline/with-body", "/worker/with-body"}) {
    const std::optional<RawResponse> head = client.Read(/*head_request=*/true);
    ASSERT_TRUE(head.has_value()) << target;
    EXPECT_EQ(Field(*head, "X-Target"), target);
    EXPECT_EQ(Field(*head, "X-Method"), "HEAD");
    EXPECT_EQ(Field(*head, "Content-Length"), "10");
  }
  const std::optional<RawResponse> after = client.Read();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(Field(*after, "X-Target"), "/inline/with-body/after");
  EXPECT_EQ(after->body, "0123456789");
}

TEST_F(FrontEndTest, Http10ClosesAfterTheResponse) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response = Exchange(client, "GET /inline HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Field(response, "Connection"), "close");
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(2)));
}

TEST_F(FrontEndTest, Http10KeepAliveStaysOpen) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  for (const char* target : {"/inline", "/worker"}) {
    const RawResponse response = Exchange(
        client, absl::StrCat("GET ", target, " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(Field(response, "Connection"), "keep-alive") << target;
  }
  EXPECT_EQ(app_.answer_calls(), 1);  // Both requests came over the one connection.
}

TEST_F(FrontEndTest, ConnectionCloseClosesAfterTheResponse) {
  StartFrontEnd();
  for (const char* target : {"/inline", "/worker"}) {
    RawHttpClient& client = Connect();
    const RawResponse response = Exchange(
        client, absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(Field(response, "Connection"), "close") << target;
    EXPECT_TRUE(client.WaitClosed(absl::Seconds(2))) << target;
  }
}

TEST_F(FrontEndTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(client.Send(
      "POST /worker HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const std::optional<RawResponse> interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status_line, "HTTP/1.1 100 Continue");
  EXPECT_EQ(app_.answer_calls(), 0);
  ASSERT_TRUE(client.Send("hello"));
  const std::optional<RawResponse> final_response = client.Read();
  ASSERT_TRUE(final_response.has_value());
  EXPECT_EQ(final_response->status, 200);
  EXPECT_EQ(final_response->body, "hello");
}

TEST_F(FrontEndTest, HeadSentOneByteAtATimeIsRead) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const std::string request = "GET /worker/bytes HTTP/1.1\r\nHost: h\r\nX-Echo: slow\r\n\r\n";
  for (char c : request) {
    ASSERT_TRUE(client.Send(std::string(1, c)));
    absl::SleepFor(absl::Milliseconds(1));
  }
  const std::optional<RawResponse> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Field(*response, "X-Target"), "/worker/bytes");
  EXPECT_EQ(Field(*response, "X-Echo"), "slow");
}

TEST_F(FrontEndTest, HalfClosedClientStillGetsItsAnswer) {
  StartFrontEnd();
  for (const char* target : {"/inline", "/worker"}) {
    RawHttpClient& client = Connect();
    ASSERT_TRUE(client.Send(absl::StrCat("GET ", target, " HTTP/1.0\r\n\r\n")));
    ASSERT_TRUE(client.ShutdownWrite());
    const std::optional<RawResponse> response = client.Read();
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(response->status, 200) << target;
  }
}

// A request whose bytes end exactly where a 16 KiB read ends, followed by the end of the
// client's stream (a half-close), is still answered: the read keeps the bytes before the end of
// stream. The slow inline answer on another connection keeps the loop busy so that the request
// and the FIN are both queued when it reads.
TEST_F(FrontEndTest, HalfClosedClientIsAnsweredWhateverTheRequestSize) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  RawHttpClient& busy = Connect();
  ASSERT_TRUE(busy.Send("GET /inline-slow HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(app_.WaitForSlow());
  const std::string prefix = "POST /inline HTTP/1.1\r\nHost: h\r\nContent-Length: ";
  const size_t body_size = 16384 - prefix.size() - 5 - 4;  // A 5-digit length, CRLF CRLF.
  const std::string request =
      absl::StrCat(prefix, body_size, "\r\n\r\n", std::string(body_size, 'b'));
  ASSERT_EQ(request.size(), 16384u);
  ASSERT_TRUE(client.Send(request));
  ASSERT_TRUE(client.ShutdownWrite());
  const std::optional<RawResponse> response = client.Read();
  ASSERT_TRUE(response.has_value()) << "closed without an answer";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), body_size);
  EXPECT_EQ(busy.Read().value_or(RawResponse{}).status, 200);
}

}  // namespace
}  // namespace larder::proxy::testing

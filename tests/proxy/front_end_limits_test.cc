// larder-proxy's epoll front end (proxy/front_end.h) against hostile or unlucky clients, over
// real sockets: refusals (400, 405, 413, 431, 503) and the connections they close, the idle
// timeout, the connection bound, and Stop with requests in flight.
#include <poll.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/proxy/front_end_fixture.h"

namespace larder::proxy::testing {
namespace {

// Sends `request` on `client` and expects a text/plain `status` with Connection: close, then the
// close; returns the response.
RawResponse ExpectRefused(RawHttpClient& client, const std::string& request, int status) {
  EXPECT_TRUE(client.Send(request));
  const RawResponse response = client.Read().value_or(RawResponse{});
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.headers.Get("Connection").value_or("<none>"), "close");
  EXPECT_EQ(response.headers.Get("Content-Type").value_or("<none>"), "text/plain");
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(2)));
  return response;
}

class FrontEndLimitsTest : public FrontEndTest {};

TEST_F(FrontEndLimitsTest, HeadOverTheLimitIs431AndCloses) {
  options_.limits.max_head_bytes = 1024;
  StartFrontEnd();
  const std::string big_field = "X-Big: " + std::string(2000, 'a');
  {  // The head never ends: refused once more than the limit arrived.
    RawHttpClient& client = Connect();
    const RawResponse response =
        ExpectRefused(client, "GET /inline HTTP/1.1\r\nHost: h\r\n" + big_field, 431);
    EXPECT_EQ(response.body, "request header fields too large\n");
  }
  {  // A whole head over the limit.
    RawHttpClient& client = Connect();
    ExpectRefused(client, "GET /inline HTTP/1.1\r\nHost: h\r\n" + big_field + "\r\n\r\n", 431);
  }
  EXPECT_EQ(app_.at_once_calls(), 0);
}

TEST_F(FrontEndLimitsTest, BodyOverTheLimitIs413BeforeItIsSent) {
  options_.limits.max_body_bytes = 100;
  options_.on_body_refused = [this] { ++bodies_refused_; };
  StartFrontEnd();
  RawHttpClient& client = Connect();
  // Only the head is sent: the refusal does not wait for the body.
  const RawResponse response =
      ExpectRefused(client, "POST /worker HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 413);
  EXPECT_EQ(response.body, "request body too large\n");
  EXPECT_EQ(bodies_refused_.load(), 1);
  EXPECT_EQ(app_.at_once_calls() + app_.answer_calls(), 0);
}

TEST_F(FrontEndLimitsTest, BodyAtTheLimitIsAccepted) {
  options_.limits.max_body_bytes = 100;
  options_.on_body_refused = [this] { ++bodies_refused_; };
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response =
      Exchange(client, "POST /worker HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" +
                           std::string(100, 'b'));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, std::string(100, 'b'));
  EXPECT_EQ(bodies_refused_.load(), 0);
}

TEST_F(FrontEndLimitsTest, MalformedRequestLineIs400) {
  StartFrontEnd();
  for (const char* line : {"GARBAGE", "GET  /two-spaces HTTP/1.1", "GET /x HTTP/1.1 extra"}) {
    RawHttpClient& client = Connect();
    const RawResponse response =
        ExpectRefused(client, absl::StrCat(line, "\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(response.body.back(), '\n') << line;  // A one-line reason.
  }
  EXPECT_EQ(app_.at_once_calls(), 0);
}

TEST_F(FrontEndLimitsTest, ConnectIs405WithAllow) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response = ExpectRefused(
      client, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405);
  EXPECT_EQ(response.headers.Get("Allow").value_or("<none>"),
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(app_.at_once_calls(), 0);
}

TEST_F(FrontEndLimitsTest, GetWithABodyIs400) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response =
      ExpectRefused(client, "GET /inline HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 400);
  EXPECT_EQ(response.body, "a GET request must not carry a body\n");
  EXPECT_EQ(app_.at_once_calls(), 0);
}

TEST_F(FrontEndLimitsTest, FullWorkerQueueIs503) {
  options_.workers = 1;
  options_.max_queued = 1;
  StartFrontEnd();
  RawHttpClient& running = Connect();
  ASSERT_TRUE(running.Send("GET /block/running HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(app_.WaitForBlocked(1));
  // The one worker is busy: of the next two requests one waits in the queue, the other (whichever
  // the loop reads second) finds it full.
  RawHttpClient* clients[2] = {&Connect(), &Connect()};
  ASSERT_TRUE(clients[0]->Send("GET /block/a HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(clients[1]->Send("GET /block/b HTTP/1.1\r\nHost: h\r\n\r\n"));
  pollfd fds[2] = {{clients[0]->fd(), POLLIN, 0}, {clients[1]->fd(), POLLIN, 0}};
  ASSERT_EQ(poll(fds, 2, 5000), 1) << "exactly one of the two is answered at once";
  const int refused = (fds[0].revents & POLLIN) != 0 ? 0 : 1;
  const std::optional<RawResponse> overloaded = clients[refused]->Read();
  ASSERT_TRUE(overloaded.has_value());
  EXPECT_EQ(overloaded->status, 503);
  EXPECT_EQ(overloaded->body, "proxy overloaded\n");
  app_.Release();
  EXPECT_EQ(running.Read().value_or(RawResponse{}).status, 200);
  EXPECT_EQ(clients[1 - refused]->Read().value_or(RawResponse{}).status, 200);
  EXPECT_EQ(app_.answer_calls(), 2);
}

TEST_F(FrontEndLimitsTest, IdleConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = absl::Milliseconds(300);
  StartFrontEnd();
  RawHttpClient& idle = Connect();
  RawHttpClient& busy = Connect();
  ASSERT_EQ(Exchange(idle, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  const absl::Time idle_since = absl::Now();
  // The sweep runs about once a second; meanwhile `busy` sends a request every 100 ms.
  bool closed = false;
  while (!closed && absl::Now() - idle_since < absl::Seconds(5)) {
    ASSERT_EQ(Exchange(busy, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    closed = idle.WaitClosed(absl::Milliseconds(100));
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(absl::Now() - idle_since, absl::Milliseconds(300));
  EXPECT_TRUE(idle.pending().empty());
  EXPECT_EQ(Exchange(busy, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

TEST_F(FrontEndLimitsTest, ConnectionsOverTheLimitAreClosedAtAccept) {
  options_.max_connections = 1;
  StartFrontEnd();
  RawHttpClient& first = Connect();
  ASSERT_EQ(Exchange(first, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  RawHttpClient& extra = Connect();  // The kernel completes it; the loop closes it.
  EXPECT_TRUE(extra.WaitClosed(absl::Seconds(2)));
  EXPECT_TRUE(extra.pending().empty());
  EXPECT_EQ(Exchange(first, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  // Once the first is gone its place is free again.
  first.Close();
  bool served = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!served && absl::Now() < give_up) {
    RawHttpClient& next = Connect();
    served = next.Send("GET /inline HTTP/1.1\r\nHost: h\r\n\r\n") && next.Read().has_value();
    if (!served) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(served);
}

TEST_F(FrontEndLimitsTest, StopLetsAnInFlightRequestFinish) {
  options_.workers = 1;
  StartFrontEnd();
  RawHttpClient& idle = Connect();
  ASSERT_EQ(Exchange(idle, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  RawHttpClient& in_flight = Connect();
  ASSERT_TRUE(in_flight.Send("GET /block HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(app_.WaitForBlocked(1));
  std::thread releaser([this] {
    absl::SleepFor(absl::Milliseconds(200));
    app_.Release();
  });
  const absl::Time start = absl::Now();
  const bool stopped = front_->Stop(absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  releaser.join();
  EXPECT_TRUE(stopped);
  EXPECT_GE(took, absl::Milliseconds(150));  // It waited for the request.
  // Everything was written before Stop returned: the response, then the close.
  const std::optional<RawResponse> response = in_flight.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Field(*response, "Connection"), "close");
  EXPECT_TRUE(in_flight.WaitClosed(absl::Seconds(1)));
  EXPECT_TRUE(idle.WaitClosed(absl::Seconds(1)));
}

TEST_F(FrontEndLimitsTest, StopPastTheGraceReturnsFalse) {
  options_.workers = 1;
  StartFrontEnd();
  RawHttpClient& in_flight = Connect();
  ASSERT_TRUE(in_flight.Send("GET /block HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(app_.WaitForBlocked(1));
  const absl::Time start = absl::Now();
  EXPECT_FALSE(front_->Stop(absl::Milliseconds(200)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  // The request still finishes, on the threads Stop left running. Once its response arrived the
  // worker is done with app_; front_'s destructor (TearDown) does not Stop again and leaks what
  // those threads use, as front_end.h says.
  app_.Release();
  const std::optional<RawResponse> response = in_flight.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Field(*response, "Connection"), "close");
  EXPECT_TRUE(in_flight.WaitClosed(absl::Seconds(1)));
}

// A worker that answered a request lingers on its connection (up to 2 ms) for the next one. A
// Stop beginning meanwhile must still close the connection at once when the worker lets go of
// it, not at the next once-a-second sweep. Stop follows the response at once, inside the linger.
TEST_F(FrontEndLimitsTest, StopClosesAConnectionAWorkerJustAnsweredAtOnce) {
  StartFrontEnd();
  RawHttpClient& client = Connect();
  ASSERT_EQ(Exchange(client, "GET /worker HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(front_->Stop(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(1)));
}

// Stop closes idle connections while the loop may still hold events for them in the same batch
// (here: the client closing). Those events must find the connection closed, not freed (a
// use-after-free, caught by ASan). The slow inline answer keeps the loop busy so that the stop's
// wake-up and the client's close land in one batch.
TEST_F(FrontEndLimitsTest, ClientClosingWhileTheFrontEndStops) {
  StartFrontEnd();
  RawHttpClient& idle = Connect();
  ASSERT_EQ(Exchange(idle, "GET /inline HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  RawHttpClient& busy = Connect();
  ASSERT_TRUE(busy.Send("GET /inline-slow HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(app_.WaitForSlow());
  bool stopped = false;
  std::thread stopper([this, &stopped] { stopped = front_->Stop(absl::Seconds(5)); });
  absl::SleepFor(absl::Milliseconds(100));  // BeginStop has woken the (busy) loop by now.
  idle.Close();
  stopper.join();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(busy.Read().value_or(RawResponse{}).status, 200);
}

}  // namespace
}  // namespace larder::proxy::testing

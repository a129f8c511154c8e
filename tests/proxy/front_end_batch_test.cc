// larder-proxy's epoll front end (proxy/front_end.h) with batched reads, over real sockets:
// BatchApp reads a value for every target under /fetch/ (FetchFor, FetchMany, AnswerFetched).
// Covered: a parked request answered on its loop, an absent value going to a worker, pipelined
// and follow-up requests answered in order, requests of many connections sharing FetchMany
// calls, a client closing while parked, Stop with a batch out (coming back during the grace or
// after the loops ended), and max_batch_keys = 0. Batches are held and released by the test.
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/proxy/front_end_fixture.h"

namespace larder::proxy::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;

constexpr absl::string_view kFetchPrefix = "/fetch/";

// Reads, in batches, the value of every target "/fetch/KEY" (group "g", tag 7) from a fixed map
// ("a" alpha, "b" beta, "c" gamma, "k0".."k9" value-kN) and answers it on the loop (X-Answered-By
// fetched, the value as body); an absent value goes to Answer, on a worker (X-Answered-By worker,
// the value or "absent"). "/inline..." is answered at once; anything else goes to a worker.
// FetchMany completes at once on the calling thread, or, after HoldBatches, keeps `done` until
// ReleaseHeld. Records the thread of each call per target.
class BatchApp final : public FrontEndApp {
 public:
  BatchApp() : values_({{"a", "alpha"}, {"b", "beta"}, {"c", "gamma"}}) {
    for (int i = 0; i < 10; ++i) values_[absl::StrCat("k", i)] = absl::StrCat("value-k", i);
  }

  std::optional<http::Response> AnswerAtOnce(const IncomingRequest& request) override {
    if (!absl::StartsWith(request.target, "/inline")) return std::nullopt;
    return Respond(request, "inline", "inline");
  }

  http::Response Answer(IncomingRequest request) override {
    Record(Method::kAnswer, request.target);
    std::optional<std::string> value = ValueOf(Key(request.target));
    return Respond(request, "worker", value.value_or("absent"));
  }

  std::optional<BatchedRead> FetchFor(const IncomingRequest& request) override {
    {
      absl::MutexLock lock(&mutex_);
      ++fetch_for_calls_;
      threads_[{Method::kFetchFor, request.target}] = std::this_thread::get_id();
      fetch_for_tid_ = static_cast<pid_t>(syscall(SYS_gettid));
    }
    if (!absl::StartsWith(request.target, kFetchPrefix)) return std::nullopt;
    return BatchedRead{"g", Key(request.target), 7};
  }

  void FetchMany(const std::string& group, std::vector<std::string> keys, FetchDone done) override {
    {
      absl::MutexLock lock(&mutex_);
      EXPECT_EQ(group, "g");
      fetched_keys_.push_back(keys);
      if (hold_) {
        held_.push_back({std::move(keys), std::move(done)});
        ++held_total_;
        return;
      }
    }
    done(Lookup(keys));
  }

  std::optional<http::Response> AnswerFetched(const IncomingRequest& request,
                                              const BatchedRead& read,
                                              const std::optional<std::string>& value) override {
    Record(Method::kAnswerFetched, request.target);
    {
      absl::MutexLock lock(&mutex_);
      fetched_values_[request.target] = value;
    }
    EXPECT_EQ(read.tag, 7);
    EXPECT_EQ(read.key, Key(request.target));
    if (!value.has_value()) return std::nullopt;
    return Respond(request, "fetched", *value);
  }

  // From now on FetchMany keeps `done` until ReleaseHeld.
  void HoldBatches() {
    absl::MutexLock lock(&mutex_);
    hold_ = true;
  }
  // Stops holding and completes every held FetchMany, on this thread.
  void ReleaseHeld() {
    std::vector<Held> held;
    {
      absl::MutexLock lock(&mutex_);
      hold_ = false;
      held.swap(held_);
    }
    for (Held& call : held) call.done(Lookup(call.keys));
  }
  // True once `count` FetchMany calls were held (FetchFor was called `count` times), false after
  // `timeout`.
  bool WaitForHeld(int count, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mutex_);
    auto reached = [this, count]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return held_total_ >= count; };
    return mutex_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  bool WaitForFetchFor(int count, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mutex_);
    auto reached = [this, count]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return fetch_for_calls_ >= count; };
    return mutex_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  std::optional<std::thread::id> FetchForThread(const std::string& target) {
    return Find(Method::kFetchFor, target);
  }
  std::optional<std::thread::id> AnswerFetchedThread(const std::string& target) {
    return Find(Method::kAnswerFetched, target);
  }
  std::optional<std::thread::id> AnswerThread(const std::string& target) {
    return Find(Method::kAnswer, target);
  }
  // The value AnswerFetched got for `target`; nullopt inside when it got none.
  std::optional<std::optional<std::string>> FetchedValue(const std::string& target) {
    absl::MutexLock lock(&mutex_);
    auto it = fetched_values_.find(target);
    if (it == fetched_values_.end()) return std::nullopt;
    return it->second;
  }
  // The kernel id of the thread that last called FetchFor (an event loop).
  pid_t fetch_for_tid() {
    absl::MutexLock lock(&mutex_);
    return fetch_for_tid_;
  }
  int fetch_for_calls() {
    absl::MutexLock lock(&mutex_);
    return fetch_for_calls_;
  }
  // The keys of every FetchMany call, in order.
  std::vector<std::vector<std::string>> fetched_keys() {
    absl::MutexLock lock(&mutex_);
    return fetched_keys_;
  }
  int answer_calls() {
    absl::MutexLock lock(&mutex_);
    return answer_calls_;
  }

 private:
  enum class Method { kFetchFor, kAnswerFetched, kAnswer };
  struct Held {
    std::vector<std::string> keys;
    FetchDone done;
  };

  static std::string Key(absl::string_view target) {
    return std::string(absl::StripPrefix(target, kFetchPrefix));
  }
  std::optional<std::string> ValueOf(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::optional<std::string>> Lookup(const std::vector<std::string>& keys) const {
    std::vector<std::optional<std::string>> found;
    for (const std::string& key : keys) found.push_back(ValueOf(key));
    return found;
  }
  static http::Response Respond(const IncomingRequest& request, absl::string_view by,
                                std::string body) {
    http::Response response;
    response.headers.Add("X-Target", request.target);
    response.headers.Add("X-Answered-By", by);
    response.body = std::move(body);
    return response;
  }
  void Record(Method method, const std::string& target) {
    absl::MutexLock lock(&mutex_);
    threads_[{method, target}] = std::this_thread::get_id();
    if (method == Method::kAnswer) ++answer_calls_;
  }
  std::optional<std::thread::id> Find(Method method, const std::string& target) {
    absl::MutexLock lock(&mutex_);
    auto it = threads_.find({method, target});
    if (it == threads_.end()) return std::nullopt;
    return it->second;
  }

  std::map<std::string, std::string> values_;  // Set in the constructor only.
  absl::Mutex mutex_;
  // The thread of the last call of each method for each target.
  std::map<std::pair<Method, std::string>, std::thread::id> threads_ ABSL_GUARDED_BY(mutex_);
  int answer_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<std::string, std::optional<std::string>> fetched_values_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::vector<std::string>> fetched_keys_ ABSL_GUARDED_BY(mutex_);
  std::vector<Held> held_ ABSL_GUARDED_BY(mutex_);
  int held_total_ ABSL_GUARDED_BY(mutex_) = 0;
  int fetch_for_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  pid_t fetch_for_tid_ ABSL_GUARDED_BY(mutex_) = 0;
  bool hold_ ABSL_GUARDED_BY(mutex_) = false;
};

std::string Get(absl::string_view target) {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: h\r\n\r\n");
}

// True while the thread with kernel id `tid` of this process has not ended.
bool ThreadAlive(pid_t tid) {
  return ::access(absl::StrCat("/proc/self/task/", tid).c_str(), F_OK) == 0;
}

class FrontEndBatchTest : public FrontEndTest {
 protected:
  // Held batches come back before the front end stops (it waits for them).
  void TearDown() override {
    batch_app_.ReleaseHeld();
    FrontEndTest::TearDown();
  }

  // Starts front_ with options_ over batch_app_.
  void StartBatchFrontEnd() {
    absl::StatusOr<std::unique_ptr<FrontEnd>> started = FrontEnd::Start(options_, batch_app_);
    ASSERT_TRUE(started.ok()) << started.status();
    front_ = *std::move(started);
  }

  BatchApp batch_app_;
};

TEST_F(FrontEndBatchTest, FetchedRequestIsAnsweredOnTheLoopNotOnAWorker) {
  StartBatchFrontEnd();
  batch_app_.HoldBatches();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(client.Send(Get("/fetch/a")));
  ASSERT_TRUE(batch_app_.WaitForHeld(1));
  batch_app_.ReleaseHeld();  // The batch comes back on this thread.
  const RawResponse fetched = client.Read().value_or(RawResponse{});
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(Field(fetched, "X-Answered-By"), "fetched");
  EXPECT_EQ(fetched.body, "alpha");
  const RawResponse worker = Exchange(client, Get("/worker/x"));
  EXPECT_EQ(Field(worker, "X-Answered-By"), "worker");

  const std::optional<std::thread::id> loop = batch_app_.FetchForThread("/fetch/a");
  const std::optional<std::thread::id> answered = batch_app_.AnswerFetchedThread("/fetch/a");
  const std::optional<std::thread::id> worker_thread = batch_app_.AnswerThread("/worker/x");
  ASSERT_TRUE(loop.has_value() && answered.has_value() && worker_thread.has_value());
  EXPECT_EQ(*answered, *loop);  // Handed back to the loop that parked it,
  EXPECT_NE(*answered, *worker_thread);
  EXPECT_NE(*answered, std::this_thread::get_id());  // not answered where the batch came back.
  EXPECT_FALSE(batch_app_.AnswerThread("/fetch/a").has_value());
  EXPECT_THAT(batch_app_.fetched_keys(), ElementsAre(ElementsAre("a")));
}

TEST_F(FrontEndBatchTest, AbsentValueGoesToAnswerOnAWorker) {
  StartBatchFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse response = Exchange(client, Get("/fetch/absent"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Field(response, "X-Answered-By"), "worker");
  EXPECT_EQ(response.body, "absent");
  EXPECT_THAT(batch_app_.FetchedValue("/fetch/absent"), Optional(Eq(std::nullopt)));
  const std::optional<std::thread::id> loop = batch_app_.AnswerFetchedThread("/fetch/absent");
  const std::optional<std::thread::id> worker = batch_app_.AnswerThread("/fetch/absent");
  ASSERT_TRUE(loop.has_value() && worker.has_value());
  EXPECT_NE(*loop, *worker);
  EXPECT_EQ(batch_app_.answer_calls(), 1);
}

TEST_F(FrontEndBatchTest, PipelinedFetchedRequestsAreAnsweredInOrder) {
  StartBatchFrontEnd();
  RawHttpClient& client = Connect();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/fetch/a", "alpha"},    {"/fetch/b", "beta"},        {"/inline/1", "inline"},
      {"/fetch/a", "alpha"},    {"/fetch/absent", "absent"}, {"/fetch/c", "gamma"},
      {"/fetch/k3", "value-k3"}};
  std::string requests;
  for (const auto& [target, body] : expected) requests += Get(target);
  ASSERT_TRUE(client.Send(requests));  // One write.
  for (const auto& [target, body] : expected) {
    const std::optional<RawResponse> response = client.Read();
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(response->status, 200) << target;
    EXPECT_EQ(Field(*response, "X-Target"), target);
    EXPECT_EQ(response->body, body) << target;
  }
  EXPECT_TRUE(client.pending().empty());
  EXPECT_EQ(Exchange(client, Get("/fetch/b")).body, "beta");
}

TEST_F(FrontEndBatchTest, ManyConnectionsNeedFewerFetchManyCallsThanRequests) {
  options_.event_loops = 2;
  StartBatchFrontEnd();
  batch_app_.HoldBatches();  // The first batch stays out while every request arrives.
  constexpr int kClients = 16;
  std::vector<RawHttpClient*> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(&Connect());
    ASSERT_TRUE(clients.back()->Send(Get(absl::StrCat("/fetch/k", i % 10))));
  }
  ASSERT_TRUE(batch_app_.WaitForFetchFor(kClients));  // All parked.
  batch_app_.ReleaseHeld();
  for (int i = 0; i < kClients; ++i) {
    const std::optional<RawResponse> response = clients[static_cast<size_t>(i)]->Read();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200) << i;
    EXPECT_EQ(Field(*response, "X-Answered-By"), "fetched") << i;
    EXPECT_EQ(response->body, absl::StrCat("value-k", i % 10)) << i;
  }
  const std::vector<std::vector<std::string>> calls = batch_app_.fetched_keys();
  EXPECT_LT(calls.size(), static_cast<size_t>(kClients));
  size_t keys = 0;
  for (const std::vector<std::string>& call : calls) keys += call.size();
  EXPECT_LT(keys, static_cast<size_t>(kClients));  // Ten distinct keys, none asked twice a batch.
  EXPECT_EQ(batch_app_.answer_calls(), 0);
}

// Two clients close while parked: one whose value is read (answered on the loop) and one whose
// value is absent (handed to a worker). Both connections are cleaned up and others served.
TEST_F(FrontEndBatchTest, ClientClosingWhileParkedLeavesTheFrontEndServing) {
  options_.max_connections = 3;
  StartBatchFrontEnd();
  batch_app_.HoldBatches();
  RawHttpClient& leaving = Connect();
  ASSERT_TRUE(leaving.Send(Get("/fetch/a")));
  ASSERT_TRUE(batch_app_.WaitForHeld(1));
  RawHttpClient& leaving_absent = Connect();
  ASSERT_TRUE(leaving_absent.Send(Get("/fetch/absent")));
  ASSERT_TRUE(batch_app_.WaitForFetchFor(2));  // Parked, waiting for the batch out.
  leaving.Close();
  leaving_absent.Close();
  // Served by the one loop after it saw the hang-ups, which were pending before this request.
  RawHttpClient& staying = Connect();
  EXPECT_EQ(Exchange(staying, Get("/inline/x")).status, 200);
  batch_app_.ReleaseHeld();  // The batches come back for connections that are gone.
  const RawResponse fetched = Exchange(staying, Get("/fetch/b"));
  EXPECT_EQ(Field(fetched, "X-Answered-By"), "fetched");
  EXPECT_EQ(fetched.body, "beta");
  // The closed connections' places are freed: two new connections are served at once (bounded
  // polling: the front end notices the closes on its own time).
  bool served = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!served && absl::Now() < give_up) {
    RawHttpClient& first = Connect();
    RawHttpClient& second = Connect();
    served = first.Send(Get("/fetch/c")) && second.Send(Get("/fetch/k1")) &&
             first.Read().value_or(RawResponse{}).body == "gamma" &&
             second.Read().value_or(RawResponse{}).body == "value-k1";
    if (!served) {
      first.Close();
      second.Close();
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  EXPECT_TRUE(served);
  EXPECT_EQ(Exchange(staying, Get("/fetch/a")).body, "alpha");
}

TEST_F(FrontEndBatchTest, NextRequestSentWhileParkedIsAnsweredAfterTheFirst) {
  StartBatchFrontEnd();
  batch_app_.HoldBatches();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(client.Send(Get("/fetch/a")));
  ASSERT_TRUE(batch_app_.WaitForHeld(1));
  ASSERT_TRUE(client.Send(Get("/fetch/b")));
  // Served by the one loop after it saw the second request, which arrived before this one.
  RawHttpClient& other = Connect();
  EXPECT_EQ(Exchange(other, Get("/inline/x")).status, 200);
  EXPECT_TRUE(client.pending().empty());  // The first is still parked.
  batch_app_.ReleaseHeld();
  for (const auto& [target, body] : {std::pair<const char*, const char*>{"/fetch/a", "alpha"},
                                     std::pair<const char*, const char*>{"/fetch/b", "beta"}}) {
    const std::optional<RawResponse> response = client.Read();
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(Field(*response, "X-Target"), target);
    EXPECT_EQ(Field(*response, "X-Answered-By"), "fetched");
    EXPECT_EQ(response->body, body);
  }
  EXPECT_THAT(batch_app_.fetched_keys(), ElementsAre(ElementsAre("a"), ElementsAre("b")));
}

// The batch comes back after Stop has quit and joined the loops (grace 0): Stop waits for it,
// and once Stop returned nothing touches the front end any more (ASan: destroyed right after).
TEST_F(FrontEndBatchTest, StopWaitsForABatchThatComesBackAfterTheLoopsEnded) {
  StartBatchFrontEnd();
  batch_app_.HoldBatches();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(client.Send(Get("/fetch/a")));
  ASSERT_TRUE(batch_app_.WaitForHeld(1));
  const pid_t loop = batch_app_.fetch_for_tid();
  ASSERT_TRUE(ThreadAlive(loop));
  std::atomic<bool> completing{false};
  bool loop_ended = false;
  std::thread completer([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (ThreadAlive(loop) && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    loop_ended = !ThreadAlive(loop);
    completing.store(true);
    batch_app_.ReleaseHeld();
  });
  EXPECT_TRUE(front_->Stop(absl::ZeroDuration()));
  EXPECT_TRUE(completing.load());  // Stop returned only once the batch came back.
  completer.join();
  EXPECT_TRUE(loop_ended);
  front_.reset();
  // Its loop was gone when the value came: the connection is closed unanswered.
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(2)));
  EXPECT_TRUE(client.pending().empty());
  EXPECT_FALSE(batch_app_.AnswerFetchedThread("/fetch/a").has_value());
}

// The batch comes back while Stop waits for the connections: the parked request is answered
// (with Connection: close) and Stop returns once it was written.
TEST_F(FrontEndBatchTest, StopAnswersAParkedRequestWhoseBatchComesBackDuringTheGrace) {
  StartBatchFrontEnd();
  RawHttpClient& idle = Connect();
  ASSERT_EQ(Exchange(idle, Get("/inline/x")).status, 200);
  batch_app_.HoldBatches();
  RawHttpClient& client = Connect();
  ASSERT_TRUE(client.Send(Get("/fetch/a")));
  ASSERT_TRUE(batch_app_.WaitForHeld(1));
  bool stop_began = false;
  std::thread completer([&] {
    stop_began = idle.WaitClosed(absl::Seconds(5));  // Stop closes idle connections first.
    batch_app_.ReleaseHeld();
  });
  EXPECT_TRUE(front_->Stop(absl::Seconds(10)));
  completer.join();
  EXPECT_TRUE(stop_began);
  const std::optional<RawResponse> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "alpha");
  EXPECT_EQ(Field(*response, "Connection"), "close");
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(1)));
}

TEST_F(FrontEndBatchTest, ZeroMaxBatchKeysSendsEveryRequestToAnswer) {
  options_.max_batch_keys = 0;
  StartBatchFrontEnd();
  RawHttpClient& client = Connect();
  const RawResponse present = Exchange(client, Get("/fetch/a"));
  EXPECT_EQ(Field(present, "X-Answered-By"), "worker");
  EXPECT_EQ(present.body, "alpha");
  const RawResponse absent = Exchange(client, Get("/fetch/absent"));
  EXPECT_EQ(Field(absent, "X-Answered-By"), "worker");
  EXPECT_EQ(absent.body, "absent");
  EXPECT_EQ(batch_app_.fetch_for_calls(), 0);
  EXPECT_TRUE(batch_app_.fetched_keys().empty());
  EXPECT_EQ(batch_app_.answer_calls(), 2);
}

}  // namespace
}  // namespace larder::proxy::testing

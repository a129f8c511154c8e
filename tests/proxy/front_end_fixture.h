// FrontEndTest: a real FrontEnd (proxy/front_end.h) on 127.0.0.1, port 0, in this process, over
// EchoApp, and raw clients of it (raw_http_client.h).
//
// EchoApp answers a target starting with "/inline" at once, on the loop (AnswerAtOnce), and
// every other one on a worker (Answer). The response echoes the request: X-Method, X-Target,
// X-Echo (the request's X-Echo field), X-Client (client_address), X-Answered-By ("inline" or
// "worker"), and the request's body as its body (or "0123456789" for a target containing
// "with-body"). A target starting with "/block" waits in Answer until Release(); one starting
// with "/inline-slow" keeps its loop busy for kSlowFor first. The app records which thread
// called each method for each target.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proxy/front_end.h"
#include "tests/proxy/raw_http_client.h"

namespace larder::proxy::testing {

class EchoApp final : public FrontEndApp {
 public:
  std::optional<http::Response> AnswerAtOnce(const IncomingRequest& request) override {
    {
      absl::MutexLock lock(&mutex_);
      at_once_threads_[request.target] = std::this_thread::get_id();
      ++at_once_calls_;
    }
    if (absl::StartsWith(request.target, "/inline-slow")) {
      slow_entered_.Notify();
      absl::SleepFor(kSlowFor);
    }
    if (!absl::StartsWith(request.target, "/inline")) return std::nullopt;
    return Echo(request, "inline");
  }

  http::Response Answer(IncomingRequest request) override {
    {
      absl::MutexLock lock(&mutex_);
      answer_threads_[request.target] = std::this_thread::get_id();
      ++answer_calls_;
      if (absl::StartsWith(request.target, "/block")) ++blocked_;
    }
    if (absl::StartsWith(request.target, "/block")) release_.WaitForNotification();
    return Echo(request, "worker");
  }

  // Lets every "/block" request, now and later, finish. Idempotent.
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  // True once `count` "/block" requests have entered Answer, false after `timeout`.
  bool WaitForBlocked(int count, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mutex_);
    auto reached = [this, count]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return blocked_ >= count; };
    return mutex_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  // True once an "/inline-slow" request is keeping its loop busy.
  bool WaitForSlow(absl::Duration timeout = absl::Seconds(5)) {
    return slow_entered_.WaitForNotificationWithTimeout(timeout);
  }
  static constexpr absl::Duration kSlowFor = absl::Milliseconds(500);

  // The thread that called AnswerAtOnce / Answer for `target`, if any did.
  std::optional<std::thread::id> AtOnceThread(const std::string& target) {
    absl::MutexLock lock(&mutex_);
    auto it = at_once_threads_.find(target);
    if (it == at_once_threads_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::thread::id> AnswerThread(const std::string& target) {
    absl::MutexLock lock(&mutex_);
    auto it = answer_threads_.find(target);
    if (it == answer_threads_.end()) return std::nullopt;
    return it->second;
  }
  int at_once_calls() {
    absl::MutexLock lock(&mutex_);
    return at_once_calls_;
  }
  int answer_calls() {
    absl::MutexLock lock(&mutex_);
    return answer_calls_;
  }

 private:
  static http::Response Echo(const IncomingRequest& request, absl::string_view by) {
    http::Response response;
    response.headers.Add("X-Method", request.method);
    response.headers.Add("X-Target", request.target);
    response.headers.Add("X-Echo", request.headers.Get("X-Echo").value_or("<none>"));
    response.headers.Add("X-Client", request.client_address);
    response.headers.Add("X-Answered-By", by);
    response.body = absl::StrContains(request.target, "with-body") ? "0123456789" : request.body;
    return response;
  }

  absl::Mutex mutex_;
  std::map<std::string, std::thread::id> at_once_threads_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::thread::id> answer_threads_ ABSL_GUARDED_BY(mutex_);
  int at_once_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  int answer_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  int blocked_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Notification release_;
  absl::Notification slow_entered_;
};

class FrontEndTest : public ::testing::Test {
 protected:
  FrontEndTest() {
    options_.event_loops = 1;
    options_.workers = 2;
  }
  // Blocked requests finish, then the front end stops, then the clients close.
  void TearDown() override {
    app_.Release();
    front_.reset();
    clients_.clear();
  }

  // Starts front_ with options_.
  void StartFrontEnd() {
    absl::StatusOr<std::unique_ptr<FrontEnd>> started = FrontEnd::Start(options_, app_);
    ASSERT_TRUE(started.ok()) << started.status();
    front_ = *std::move(started);
    ASSERT_GT(front_->port(), 0);
  }

  // A new connection to front_, kept open until after front_ is destroyed.
  RawHttpClient& Connect() {
    clients_.push_back(std::make_unique<RawHttpClient>(front_->port()));
    EXPECT_TRUE(clients_.back()->connected());
    return *clients_.back();
  }

  // Sends `request` on `client` and reads one response; status 0 when none came.
  static RawResponse Exchange(RawHttpClient& client, absl::string_view request,
                              bool head_request = false) {
    EXPECT_TRUE(client.Send(request));
    return client.Read(head_request).value_or(RawResponse{});
  }

  static std::string Field(const RawResponse& response, absl::string_view name) {
    return response.headers.Get(name).value_or("<none>");
  }

  FrontEndOptions options_;
  EchoApp app_;
  std::unique_ptr<FrontEnd> front_;
  std::vector<std::unique_ptr<RawHttpClient>> clients_;
  std::atomic<int> bodies_refused_{0};
};

}  // namespace larder::proxy::testing

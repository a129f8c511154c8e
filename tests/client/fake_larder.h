// FakeLarder: a larder.v1.Cache in the test's own process, on a free loopback port, for what a
// real larderd cannot be made to do on demand: answer every call with one chosen status
// (UNAVAILABLE, PERMISSION_DENIED, …), hand back bytes planted by the test, and report the
// `authorization` metadata each call carried. Get, Set, Delete and MultiSet are served from a
// map (no TTLs, no tags); Lease plays back scripted answers, and like every other method answers
// UNIMPLEMENTED (a larderd without leases) when there are none, unless a status is scripted.
// Watch opens a stream that says `reset` and then carries the events the test publishes (the
// fake's own writes send none), until the test ends it or the client cancels.
//
//   FakeLarder larder;
//   larder.set_answer(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "web may not read"));
//   options.target = larder.address();
//   … client->Get("ns", "k") …;
//   EXPECT_THAT(larder.authorizations(), ElementsAre("Bearer s3cret"));
//   larder.ScriptLeases({WaitAnswer(), TokenAnswer("t1")});   // two Leases, then UNIMPLEMENTED
//   larder.PublishWatchEvent("users", KeyEvent("42"));         // to every Watch of "users"
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/client/fake_watch_stream.h"

namespace larder::testing {

// Thread-safe.
class FakeLarder final : public v1::Cache::CallbackService {
 public:
  // Answers every call with `answer` when it is not OK.
  explicit FakeLarder(grpc::Status answer = grpc::Status::OK) : answer_(std::move(answer)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeLarder() override {
    EndWatches(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
    // A Watch a client opened meanwhile is cancelled at the deadline.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  void set_answer(grpc::Status answer) {
    absl::MutexLock lock(&mutex_);
    answer_ = std::move(answer);
  }
  // Stores `value` under (ns, key) as another writer would.
  void Plant(const std::string& ns, const std::string& key, std::string value) {
    absl::MutexLock lock(&mutex_);
    entries_[{ns, key}] = std::move(value);
  }
  // The value under (ns, key), or nullopt.
  std::optional<std::string> Stored(const std::string& ns, const std::string& key) const {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find({ns, key});
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  // Calls received, retries included.
  int attempts() const {
    absl::MutexLock lock(&mutex_);
    return static_cast<int>(authorizations_.size());
  }
  // The `authorization` metadata of every call received, in order ("" when absent).
  std::vector<std::string> authorizations() const {
    absl::MutexLock lock(&mutex_);
    return authorizations_;
  }

  // The answers of the next Leases, in order; past them Lease answers UNIMPLEMENTED.
  void ScriptLeases(std::vector<v1::LeaseResponse> answers) {
    absl::MutexLock lock(&mutex_);
    lease_answers_.assign(answers.begin(), answers.end());
  }
  // Every Lease received, including those answered UNIMPLEMENTED.
  std::vector<v1::LeaseRequest> lease_requests() const {
    absl::MutexLock lock(&mutex_);
    return lease_requests_;
  }
  // The lease_token of every Set received, in order ("" for none).
  std::vector<std::string> set_tokens() const {
    absl::MutexLock lock(&mutex_);
    return set_tokens_;
  }
  // When true, a Set with a lease token answers stored=false and stores nothing (a voided lease).
  void set_refuse_leased_sets(bool refuse) {
    absl::MutexLock lock(&mutex_);
    refuse_leased_sets_ = refuse;
  }

  // Sends `event` on every open Watch stream of `ns`.
  void PublishWatchEvent(const std::string& ns, const v1::WatchEvent& event) {
    for (FakeWatchStream* stream : Watches()) {
      if (stream->ns() == ns) stream->Send(event);
    }
  }
  // Ends every Watch stream with `status`.
  void EndWatches(const grpc::Status& status) {
    for (FakeWatchStream* stream : Watches()) stream->End(status);
  }

  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* context,
                                                  const v1::WatchRequest* request) override {
    const grpc::Status status = Received(*context);
    FakeWatchStream* stream = nullptr;
    {
      absl::MutexLock lock(&mutex_);
      watches_.push_back(std::make_unique<FakeWatchStream>(request->namespace_()));
      stream = watches_.back().get();
    }
    if (!status.ok()) {
      stream->End(status);
      return stream;
    }
    v1::WatchEvent reset;
    reset.set_reset(true);
    stream->Send(std::move(reset));
    return stream;
  }

  grpc::ServerUnaryReactor* Lease(grpc::CallbackServerContext* context,
                                  const v1::LeaseRequest* request,
                                  v1::LeaseResponse* response) override {
    grpc::Status status = Received(*context);
    absl::MutexLock lock(&mutex_);
    lease_requests_.push_back(*request);
    if (status.ok() && lease_answers_.empty()) {
      status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no leases here");
    }
    if (status.ok()) {
      *response = std::move(lease_answers_.front());
      lease_answers_.pop_front();
    }
    return Finish(context, status);
  }
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::GetResponse* response) override {
    grpc::Status status = Received(*context);
    if (status.ok()) {
      std::optional<std::string> value = Stored(request->namespace_(), request->key());
      response->set_found(value.has_value());
      if (value.has_value()) response->set_value(*std::move(value));
    }
    return Finish(context, status);
  }
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context, const v1::SetRequest* request,
                                v1::SetResponse* response) override {
    grpc::Status status = Received(*context);
    bool refused = false;
    {
      absl::MutexLock lock(&mutex_);
      set_tokens_.push_back(request->lease_token());
      refused = refuse_leased_sets_ && !request->lease_token().empty();
    }
    if (status.ok() && !refused) {
      Plant(request->namespace_(), request->key(), request->value());
      response->set_stored(true);
    }
    return Finish(context, status);
  }
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override {
    grpc::Status status = Received(*context);
    if (status.ok()) {
      absl::MutexLock lock(&mutex_);
      response->set_deleted(entries_.erase({request->namespace_(), request->key()}) > 0);
    }
    return Finish(context, status);
  }
  grpc::ServerUnaryReactor* MultiSet(grpc::CallbackServerContext* context,
                                     const v1::MultiSetRequest* request,
                                     v1::MultiSetResponse* response) override {
    grpc::Status status = Received(*context);
    if (status.ok()) {
      for (const v1::SetRequest& entry : request->entries()) {
        Plant(request->namespace_(), entry.key(), entry.value());
        response->add_results()->set_stored(true);
      }
    }
    return Finish(context, status);
  }

 private:
  std::vector<FakeWatchStream*> Watches() {
    absl::MutexLock lock(&mutex_);
    std::vector<FakeWatchStream*> streams;
    for (const auto& stream : watches_) streams.push_back(stream.get());
    return streams;
  }
  // Records the call's authorization and returns the scripted answer.
  grpc::Status Received(const grpc::CallbackServerContext& context) {
    std::string authorization;
    auto found = context.client_metadata().find("authorization");
    if (found != context.client_metadata().end()) {
      authorization.assign(found->second.data(), found->second.size());
    }
    absl::MutexLock lock(&mutex_);
    authorizations_.push_back(std::move(authorization));
    return answer_;
  }
  static grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                          const grpc::Status& status) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  mutable absl::Mutex mutex_;
  grpc::Status answer_ ABSL_GUARDED_BY(mutex_);
  std::map<std::pair<std::string, std::string>, std::string> entries_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> authorizations_ ABSL_GUARDED_BY(mutex_);
  std::deque<v1::LeaseResponse> lease_answers_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::LeaseRequest> lease_requests_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> set_tokens_ ABSL_GUARDED_BY(mutex_);
  bool refuse_leased_sets_ ABSL_GUARDED_BY(mutex_) = false;
  // Every Watch stream opened, ended or not (the streams are called outside the lock).
  std::vector<std::unique_ptr<FakeWatchStream>> watches_ ABSL_GUARDED_BY(mutex_);
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace larder::testing

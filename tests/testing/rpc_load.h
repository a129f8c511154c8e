// A bounded RPC load for end-to-end tests: a few client threads, each making one timed call at a
// time in rounds (LoadThreads); a thread-safe log of every call as its client saw it, which a test
// can wait on: every client round-tripped, or made N calls, since a given time (CallLog); and
// helpers to describe calls and summarize them by status code for failure messages and summary
// lines. What a round calls and what a test asserts stay in the test.
//
//   class MyLoad : public CallLog {
//    public:
//     MyLoad()
//         : CallLog(kClients),
//           threads_(kClients, kPacing, [this](int client, int round) { Round(client, round); }) {}
//    private:
//     void Round(int client, int round) {
//       const Call set = TimedCall(client, "Set", kDeadline, [&](grpc::ClientContext& context) {
//         return stub->Set(&context, request, &response);
//       });
//       if (Record(set) && /* a Get answers what was set */) RoundTripped(client, set.start);
//     }
//     LoadThreads threads_;  // The last member: joined before what its rounds use is destroyed.
//   };
//
//   MyLoad load;
//   ASSERT_TRUE(load.AwaitRoundTrips(absl::Now(), absl::Seconds(10)));
//   std::cout << CodeCounts(load.calls()) << std::endl;  // "OK 5120, UNAVAILABLE 31"
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace larder::testing {

// One call as the client saw it.
struct Call {
  const char* op;  // The RPC's name: "Set", "Get", ...
  int client;      // 0, 1, ... for a load's clients; -1 for the test's own calls.
  absl::Time start;
  absl::Time end;
  grpc::StatusCode code;
  std::string message;
};

// "client 2 Get code 14 after 3.1ms: <message>".
std::string Describe(const Call& call);

// Makes one call, rpc(context), with a `deadline` deadline and reports how it went.
template <typename Rpc>
Call TimedCall(int client, const char* op, absl::Duration deadline, Rpc rpc) {
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  context.set_deadline(absl::ToChronoTime(start + deadline));
  const grpc::Status status = rpc(context);
  return {op, client, start, absl::Now(), status.error_code(), status.error_message()};
}

// "OK 5120, UNAVAILABLE 31, code 4 2": the calls by status code.
std::string CodeCounts(const std::vector<Call>& calls);

// Milliseconds from `origin` to `t`, signed ("+812ms", "-3ms"), for summary lines.
std::string Since(absl::Time origin, absl::Time t);

// "<count>:\n" and the first 20 of `items`, one a line, as describe(item) tells them.
template <typename T, typename Describer>
std::string FirstOf(const std::vector<T>& items, Describer describe) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < std::min<size_t>(items.size(), 20); ++i) {
    lines.push_back(describe(items[i]));
  }
  return absl::StrCat(items.size(), ":\n", absl::StrJoin(lines, "\n"));
}
inline std::string FirstOf(const std::vector<std::string>& lines) {
  return FirstOf(lines, [](const std::string& line) { return line; });
}

// Every call of a load's clients 0 .. clients - 1, and when each client's latest round trip
// began; safe to use from every client thread and the test's thread at once.
class CallLog {
 public:
  explicit CallLog(int clients);
  virtual ~CallLog() = default;

  // Records `call` (of one of the clients); true when it succeeded.
  bool Record(Call call) ABSL_LOCKS_EXCLUDED(mutex_);
  // Notes that `client` completed a round trip (say, a Set, then a Get answering its value) that
  // began at `started`.
  void RoundTripped(int client, absl::Time started) ABSL_LOCKS_EXCLUDED(mutex_);

  std::vector<Call> calls() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Whether every client completes a round trip that began at or after `since`, within `within`.
  bool AwaitRoundTrips(absl::Time since, absl::Duration within) ABSL_LOCKS_EXCLUDED(mutex_);

  // Whether every client completes `count` calls begun at or after `since`, within `within`.
  bool AwaitCalls(absl::Time since, int count, absl::Duration within) ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  mutable absl::Mutex mutex_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::vector<absl::Time>> starts_ ABSL_GUARDED_BY(mutex_);  // Per client, in order.
  // Per client: when the latest successful round trip began.
  std::vector<absl::Time> round_trip_started_ ABSL_GUARDED_BY(mutex_);
};

// `clients` threads; thread c runs round(c, 0), round(c, 1), ..., sleeping `pacing` after each,
// until Stop() or destruction. Declare it after every member its rounds use, so that it is
// joined before they are destroyed.
class LoadThreads {
 public:
  LoadThreads(int clients, absl::Duration pacing, std::function<void(int client, int round)> round);
  ~LoadThreads() { Stop(); }
  LoadThreads(const LoadThreads&) = delete;
  LoadThreads& operator=(const LoadThreads&) = delete;

  // Lets every thread finish its round and joins it. Idempotent.
  void Stop();

 private:
  void Run(int client);

  const std::function<void(int client, int round)> round_;
  const absl::Duration pacing_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace larder::testing

#include "tests/testing/rpc_load.h"

#include <cstdint>
#include <map>
#include <utility>

namespace larder::testing {

std::string Describe(const Call& call) {
  return absl::StrCat("client ", call.client, " ", call.op, " code ", static_cast<int>(call.code),
                      " after ", absl::FormatDuration(call.end - call.start), ": ", call.message);
}

std::string CodeCounts(const std::vector<Call>& calls) {
  std::map<int, int> counts;
  for (const Call& call : calls) ++counts[static_cast<int>(call.code)];
  std::vector<std::string> parts;
  for (const auto& [code, count] : counts) {
    parts.push_back(code == 0 ? absl::StrCat("OK ", count)
                    : code == static_cast<int>(grpc::StatusCode::UNAVAILABLE)
                        ? absl::StrCat("UNAVAILABLE ", count)
                        : absl::StrCat("code ", code, " ", count));
  }
  return absl::StrJoin(parts, ", ");
}

std::string Since(absl::Time origin, absl::Time t) {
  const int64_t ms = absl::ToInt64Milliseconds(t - origin);
  return absl::StrCat(ms >= 0 ? "+" : "", ms, "ms");
}

CallLog::CallLog(int clients)
    : starts_(clients), round_trip_started_(clients, absl::InfinitePast()) {}

bool CallLog::Record(Call call) {
  absl::MutexLock lock(&mutex_);
  starts_[call.client].push_back(call.start);
  calls_.push_back(std::move(call));
  return calls_.back().code == grpc::StatusCode::OK;
}

void CallLog::RoundTripped(int client, absl::Time started) {
  absl::MutexLock lock(&mutex_);
  round_trip_started_[client] = started;
}

std::vector<Call> CallLog::calls() const {
  absl::MutexLock lock(&mutex_);
  return calls_;
}

bool CallLog::AwaitRoundTrips(absl::Time since, absl::Duration within) {
  absl::MutexLock lock(&mutex_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return std::all_of(round_trip_started_.begin(), round_trip_started_.end(),
                       [&](absl::Time started) { return started >= since; });
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&done), within);
}

bool CallLog::AwaitCalls(absl::Time since, int count, absl::Duration within) {
  absl::MutexLock lock(&mutex_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return std::all_of(starts_.begin(), starts_.end(), [&](const std::vector<absl::Time>& s) {
      return s.end() - std::lower_bound(s.begin(), s.end(), since) >= count;
    });
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&done), within);
}

LoadThreads::LoadThreads(int clients, absl::Duration pacing,
                         std::function<void(int client, int round)> round)
    : round_(std::move(round)), pacing_(pacing) {
  for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
}

void LoadThreads::Stop() {
  stop_ = true;
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void LoadThreads::Run(int client) {
  for (int round = 0; !stop_; ++round) {
    round_(client, round);
    absl::SleepFor(pacing_);
  }
}

}  // namespace larder::testing

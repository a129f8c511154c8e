#include "client/src/http/coalescer.h"

#include <utility>

namespace larder::http::internal {

void Flight::Finish(std::optional<StoredResponse> result, bool revalidated) {
  absl::MutexLock lock(&mutex_);
  result_ = std::move(result);
  revalidated_ = revalidated;
  done_ = true;
}

std::optional<StoredResponse> Flight::Wait() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&done_));
  return result_;
}

bool Flight::revalidated() {
  absl::MutexLock lock(&mutex_);
  return revalidated_;
}

Coalescer::Ticket Coalescer::Join(const std::string& key, bool may_lead) {
  absl::MutexLock lock(&mutex_);
  auto it = flights_.find(key);
  if (it != flights_.end()) return Ticket{it->second, false};
  if (!may_lead) return Ticket{};
  auto flight = std::make_shared<Flight>();
  flights_.emplace(key, flight);
  return Ticket{flight, true};
}

void Coalescer::Land(const std::string& key, const std::shared_ptr<Flight>& flight,
                     std::optional<StoredResponse> result, bool revalidated) {
  {
    absl::MutexLock lock(&mutex_);
    auto it = flights_.find(key);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  flight->Finish(std::move(result), revalidated);
}

}  // namespace larder::http::internal

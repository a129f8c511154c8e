#include "server/storage/redis/redis_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace larder::storage::internal {

RedisPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->Release(std::move(connection_));
}

RedisPipe& RedisPool::pipe() {
  if (RedisPipe* made = pipe_made_.load(std::memory_order_acquire); made != nullptr) return *made;
  absl::MutexLock lock(&pipe_mutex_);
  if (pipe_ == nullptr) {
    RedisPipeOptions pipe_options;
    pipe_options.connect_timeout = options_.connect_timeout;
    pipe_options.command_timeout = options_.command_timeout;
    pipe_options.initial_backoff = options_.initial_backoff;
    pipe_options.max_backoff = options_.max_backoff;
    pipe_ = std::make_unique<RedisPipe>(endpoint_, pipe_options);
    pipe_made_.store(pipe_.get(), std::memory_order_release);
  }
  return *pipe_;
}

int RedisPool::open_connections() const {
  absl::MutexLock lock(&mutex_);
  return open_;
}

bool RedisPool::CanLend() const { return !idle_.empty() || open_ < options_.size; }

absl::StatusOr<RedisPool::Lease> RedisPool::Acquire() {
  {
    absl::MutexLock lock(&mutex_);
    const absl::Duration wait = options_.connect_timeout + options_.command_timeout;
    if (!mutex_.AwaitWithTimeout(absl::Condition(this, &RedisPool::CanLend), wait)) {
      return absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(), ": all ",
                                                 options_.size, " connections stayed busy"));
    }
    if (!idle_.empty()) {
      std::unique_ptr<RedisConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    absl::Status reserved = ReserveConnectAttempt();
    if (!reserved.ok()) return reserved;
    ++open_;
  }
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint_, options_.connect_timeout, options_.command_timeout);
  absl::MutexLock lock(&mutex_);
  RecordConnectResult(connection.status());
  if (!connection.ok()) {
    --open_;
    return connection.status();
  }
  return Lease(this, *std::move(connection));
}

absl::Status RedisPool::ReserveConnectAttempt() {
  if (backoff_ == absl::ZeroDuration()) return absl::OkStatus();  // Healthy: connect freely.
  if (probing_ || absl::Now() < retry_after_) {
    return absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(),
                                               " is unreachable (", last_error_,
                                               "); reconnecting with backoff"));
  }
  probing_ = true;
  return absl::OkStatus();
}

void RedisPool::RecordConnectResult(const absl::Status& status) {
  probing_ = false;
  if (status.ok()) {
    backoff_ = absl::ZeroDuration();
    return;
  }
  backoff_ = backoff_ == absl::ZeroDuration() ? options_.initial_backoff
                                              : std::min(backoff_ * 2, options_.max_backoff);
  // Jittered, so that the replicas of a fleet do not all come back at the same instant.
  retry_after_ = absl::Now() + backoff_ * absl::Uniform(random_, 0.5, 1.0);
  last_error_ = std::string(status.message());
}

void RedisPool::Release(std::unique_ptr<RedisConnection> connection) {
  std::vector<std::unique_ptr<RedisConnection>> dropped;  // Closed after the lock is released.
  absl::MutexLock lock(&mutex_);
  if (!connection->broken()) {
    idle_.push_back(std::move(connection));
    return;
  }
  dropped.push_back(std::move(connection));
  --open_;
  // A timeout costs only its own connection: the server may just be slow for that command.
  if (dropped.back()->timed_out()) return;
  // Otherwise the server went away or changed role: its other idle connections are stale too.
  for (auto& idle : idle_) dropped.push_back(std::move(idle));
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
}

}  // namespace larder::storage::internal

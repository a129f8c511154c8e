#include "server/storage/redis/redis_pipe.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "larder/common/status_macros.h"

namespace larder::storage::internal {

struct RedisPipe::PendingCall {
  size_t expected = 0;  // Replies to read.
  std::vector<RedisReply> replies;
  absl::Status status;
  absl::Time written_at = absl::InfiniteFuture();
  absl::Notification done;  // For Call.
  Callback callback;        // For Send.
};

void RedisPipe::Complete(PendingCall& call) {
  if (call.callback == nullptr) {
    call.done.Notify();
    return;
  }
  Callback callback = std::move(call.callback);
  if (call.status.ok()) {
    std::move(callback)(std::move(call.replies));
  } else {
    std::move(callback)(call.status);
  }
}

RedisPipe::RedisPipe(RedisEndpoint endpoint, RedisPipeOptions options)
    : endpoint_(std::move(endpoint)),
      options_(options),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this] { Run(); }) {}

RedisPipe::~RedisPipe() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  Wake();
  thread_.join();
  close(wake_fd_);
}

absl::Status RedisPipe::Enqueue(const std::vector<std::vector<absl::string_view>>& commands,
                                std::shared_ptr<PendingCall> call) {
  call->expected = commands.size();
  bool wake = false;
  {
    absl::MutexLock lock(&mutex_);
    if (!connected_) return last_error_;
    if (calls_.size() >= static_cast<size_t>(options_.max_queued_calls)) {
      return absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(), ": ",
                                                 options_.max_queued_calls,
                                                 " calls already wait for replies"));
    }
    wake = outbox_.empty();
    for (const std::vector<absl::string_view>& args : commands) FormatCommand(args, outbox_);
    calls_.push_back(std::move(call));
  }
  if (wake) Wake();
  return absl::OkStatus();
}

void RedisPipe::Send(const std::vector<std::vector<absl::string_view>>& commands, Callback done) {
  if (commands.empty()) {
    std::move(done)(std::vector<RedisReply>());
    return;
  }
  auto call = std::make_shared<PendingCall>();
  call->callback = std::move(done);
  absl::Status queued = Enqueue(commands, call);
  if (queued.ok()) return;
  call->status = queued;  // Never queued: still only ours.
  Complete(*call);
}

absl::StatusOr<std::vector<RedisReply>> RedisPipe::Call(
    const std::vector<std::vector<absl::string_view>>& commands, absl::Time deadline) {
  auto call = std::make_shared<PendingCall>();
  if (commands.empty()) return std::vector<RedisReply>();
  LARDER_RETURN_IF_ERROR(Enqueue(commands, call));
  // The I/O thread fails the call when the connection stalls; the wait is bounded anyway.
  const absl::Time bound = absl::Now() + options_.command_timeout * 2 + absl::Milliseconds(100);
  if (!call->done.WaitForNotificationWithDeadline(std::min(deadline, bound))) {
    return absl::UnavailableError(
        absl::StrCat("redis at ", endpoint_.Describe(), ": no reply before the deadline"));
  }
  if (!call->status.ok()) return call->status;
  return std::move(call->replies);
}

bool RedisPipe::connected() const {
  absl::MutexLock lock(&mutex_);
  return connected_;
}

bool RedisPipe::WaitUntilConnected(absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&connected_), timeout);
}

int RedisPipe::connections_made() const {
  absl::MutexLock lock(&mutex_);
  return connections_made_;
}

void RedisPipe::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) break;
    }
    if (connection_ == nullptr) {
      Connect();
    } else {
      Serve();
    }
  }
  Reset(absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(), ": shut down")));
}

void RedisPipe::Connect() {
  if (backoff_ > absl::ZeroDuration()) {
    WaitForWake(backoff_ * absl::Uniform(random_, 0.5, 1.0));
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
  }
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint_, options_.connect_timeout, options_.command_timeout);
  absl::Status status = connection.status();
  if (status.ok()) status = (*connection)->MakeNonBlocking();
  absl::MutexLock lock(&mutex_);
  if (!status.ok()) {
    backoff_ = std::clamp(backoff_ * 2, options_.initial_backoff, options_.max_backoff);
    last_error_ = status;
    return;
  }
  backoff_ = absl::ZeroDuration();
  connection_ = *std::move(connection);
  write_pending_ = false;
  connected_ = true;
  ++connections_made_;
}

void RedisPipe::Serve() {
  pollfd fds[2] = {
      {connection_->fd(), static_cast<short>(POLLIN | (write_pending_ ? POLLOUT : 0)), 0},
      {wake_fd_, POLLIN, 0}};
  const int timeout_ms =
      static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(PollTimeout()), 0, 1000)) + 1;
  if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
    Reset(absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(), ": poll failed")));
    return;
  }
  if (fds[1].revents & POLLIN) {
    uint64_t ignored;
    [[maybe_unused]] ssize_t n = read(wake_fd_, &ignored, sizeof(ignored));
  }
  absl::Status status = Exchange((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0);
  if (status.ok() && PollTimeout() <= absl::ZeroDuration()) {
    status =
        absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(), ": no reply within ",
                                            absl::FormatDuration(options_.command_timeout)));
  }
  if (!status.ok()) Reset(status);
}

absl::Status RedisPipe::Exchange(bool readable) {
  std::string commands;
  {
    absl::MutexLock lock(&mutex_);
    commands.swap(outbox_);
    const absl::Time now = absl::Now();
    for (; written_ < calls_.size(); ++written_) calls_[written_]->written_at = now;
  }
  if (!commands.empty()) {
    if (absl::Status appended = connection_->AppendFormatted(commands); !appended.ok()) {
      return appended;
    }
    write_pending_ = true;
  }
  if (write_pending_) {
    absl::StatusOr<bool> all_written = connection_->WriteSome();
    if (!all_written.ok()) return all_written.status();
    write_pending_ = !*all_written;
  }
  if (!readable) return absl::OkStatus();
  if (absl::Status read = connection_->ReadSome(); !read.ok()) return read;
  Completed completed;
  absl::Status delivered = DeliverReplies(completed);
  for (const std::shared_ptr<PendingCall>& call : completed) Complete(*call);
  return delivered;
}

absl::Status RedisPipe::DeliverReplies(Completed& completed) {
  // Every reply the read brought is parsed first and matched to its call under one lock: the
  // callers queueing new calls meanwhile contend for the mutex once per read, not once per reply.
  std::vector<RedisReply> replies;
  absl::Status parsed = absl::OkStatus();
  while (true) {
    absl::StatusOr<RedisReply> reply = connection_->NextReply();
    if (!reply.ok()) parsed = reply.status();
    if (!reply.ok() || *reply == nullptr) break;
    replies.push_back(*std::move(reply));
  }
  absl::MutexLock lock(&mutex_);
  for (RedisReply& reply : replies) {
    if (written_ == 0) {
      return absl::InternalError(
          absl::StrCat("redis at ", endpoint_.Describe(), ": a reply nobody asked for"));
    }
    PendingCall& call = *calls_.front();
    call.replies.push_back(std::move(reply));
    if (call.replies.size() == call.expected) {
      completed.push_back(std::move(calls_.front()));
      calls_.pop_front();
      --written_;
    }
  }
  return parsed;
}

absl::Duration RedisPipe::PollTimeout() {
  absl::MutexLock lock(&mutex_);
  if (written_ == 0) return absl::Seconds(1);
  return calls_.front()->written_at + options_.command_timeout - absl::Now();
}

void RedisPipe::Reset(const absl::Status& status) {
  connection_.reset();
  write_pending_ = false;
  std::deque<std::shared_ptr<PendingCall>> failed;
  {
    absl::MutexLock lock(&mutex_);
    failed.swap(calls_);
    outbox_.clear();
    written_ = 0;
    connected_ = false;
    last_error_ = status;
  }
  backoff_ = std::max(backoff_, options_.initial_backoff);
  for (const std::shared_ptr<PendingCall>& call : failed) {
    call->status = status;
    Complete(*call);
  }
}

void RedisPipe::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void RedisPipe::WaitForWake(absl::Duration timeout) {
  pollfd fd = {wake_fd_, POLLIN, 0};
  poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)) + 1);
  uint64_t ignored;
  [[maybe_unused]] ssize_t n = read(wake_fd_, &ignored, sizeof(ignored));
}

}  // namespace larder::storage::internal

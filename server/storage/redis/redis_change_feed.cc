// RedisChangeFeed (redis_change_feed.h): the subscriber thread of the Redis engine's change
// messages. Everything on the connection is non-blocking and polled together with a wake fd:
// hiredis 0.14 leaves a blocking context unusable after a read timeout, and a blocking read
// could not be interrupted by the destructor.
#include "server/storage/redis/redis_change_feed.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "larder/common/status_macros.h"
#include "server/log/log.h"
#include "server/storage/redis/redis_change_message.h"

namespace larder::storage::internal {
namespace {

std::vector<absl::string_view> ViewsOf(const std::vector<std::string>& command) {
  return std::vector<absl::string_view>(command.begin(), command.end());
}

// One structured line (server/log): "following" is news, the rest are troubles.
void WriteLine(absl::string_view line, server::Severity severity = server::Severity::kWarning) {
  server::Log(severity, "redis_change_feed", {{"engine", "redis"}, {"message", line}});
}

// Milliseconds until `deadline` for poll(), rounded up, within [0, 1000].
int PollMillis(absl::Time deadline) {
  const absl::Duration left = absl::Ceil(deadline - absl::Now(), absl::Milliseconds(1));
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left), 0, 1000));
}

}  // namespace

RedisChangeFeed::RedisChangeFeed(Candidates candidates, Prober prober,
                                 RedisChangeFeedOptions options, ChangeListener& listener)
    : candidates_(std::move(candidates)),
      prober_(std::move(prober)),
      options_(std::move(options)),
      listener_(listener),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      // Replicas start at different candidates, so their subscriptions spread over the nodes.
      next_candidate_(absl::Uniform<size_t>(random_, 0, 1 << 16)),
      thread_([this] { Run(); }) {}

RedisChangeFeed::~RedisChangeFeed() {
  stopping_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  thread_.join();
  close(wake_fd_);
}

void RedisChangeFeed::Run() {
  while (!stopping_.load(std::memory_order_acquire)) {
    const absl::Status ended = FollowOne();
    connection_.reset();
    write_pending_ = false;
    if (stopping_.load(std::memory_order_acquire)) break;
    if (live_) {
      live_ = false;
      listener_.OnLost();
      // The line saying it is back follows each lost line written, and only those.
      owe_live_line_ =
          Log(lost_log_, absl::StrCat("lost the change feed of ", server_, " (", ended.message(),
                                      "); watchers start over, resubscribing"));
      backoff_ = options_.initial_backoff;
    } else {
      Log(failed_log_, absl::StrCat("cannot follow the change feed yet: ", ended.message()));
      backoff_ = std::clamp(backoff_ * 2, options_.initial_backoff, options_.max_backoff);
    }
    WaitForWake(backoff_ * absl::Uniform(random_, 0.5, 1.0));
  }
  if (live_) {
    live_ = false;
    listener_.OnLost();
  }
}

absl::Status RedisChangeFeed::FollowOne() {
  std::vector<RedisEndpoint> candidates = candidates_();
  if (candidates.empty()) return absl::UnavailableError("redis: no server to subscribe to");
  const RedisEndpoint& endpoint = candidates[next_candidate_++ % candidates.size()];
  server_ = endpoint.Describe();
  LARDER_RETURN_IF_ERROR(Subscribe(endpoint));
  live_ = true;
  listener_.OnLive();
  if (owe_live_line_) {
    WriteLine(absl::StrCat("following the change feed (", options_.channel, ") of ", server_),
              server::Severity::kInfo);
    owe_live_line_ = false;
  }
  return Follow();
}

absl::Status RedisChangeFeed::Subscribe(const RedisEndpoint& endpoint) {
  LARDER_ASSIGN_OR_RETURN(connection_, RedisConnection::StartConnect(endpoint));
  const std::vector<std::vector<std::string>> handshake = HandshakeCommands(endpoint);
  std::string commands;
  for (const std::vector<std::string>& command : handshake) {
    FormatCommand(ViewsOf(command), commands);
  }
  FormatCommand({"SUBSCRIBE", options_.channel}, commands);
  LARDER_RETURN_IF_ERROR(Send(commands));
  return AwaitConfirmation(endpoint, handshake);
}

absl::Status RedisChangeFeed::AwaitConfirmation(
    const RedisEndpoint& endpoint, const std::vector<std::vector<std::string>>& handshake) {
  const absl::Time deadline = absl::Now() + options_.connect_timeout + options_.command_timeout;
  size_t answered = 0;
  while (!stopping_.load(std::memory_order_acquire)) {
    LARDER_RETURN_IF_ERROR(Exchange(deadline));
    while (true) {
      LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection_->NextReply());
      if (reply == nullptr) break;
      if (answered < handshake.size()) {
        if (reply->type == REDIS_REPLY_ERROR) {
          return HandshakeRefusal(endpoint, handshake[answered][0],
                                  ErrorReplyStatus(*reply).message());
        }
        ++answered;
        continue;
      }
      LARDER_ASSIGN_OR_RETURN(FeedReply confirmation, DecodeFeedReply(*reply, options_.channel));
      if (confirmation.type == FeedReply::Type::kSubscribed) return absl::OkStatus();
      return absl::InternalError("redis: a reply before the subscription was confirmed");
    }
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("redis at ", server_, ": not subscribed within ",
                       absl::FormatDuration(options_.connect_timeout + options_.command_timeout)));
    }
  }
  return absl::CancelledError("stopping");
}

absl::Status RedisChangeFeed::Follow() {
  ping_due_ = absl::Now() + options_.ping_interval;
  pong_due_ = absl::InfiniteFuture();
  probe_next_ = prober_ == nullptr ? absl::InfiniteFuture() : ping_due_;
  {
    absl::MutexLock lock(&probe_->mutex);
    probe_->token.clear();  // One of the last connection's is moot, and its callback ignored.
    probe_->due = absl::InfiniteFuture();
  }
  while (!stopping_.load(std::memory_order_acquire)) {
    const absl::Time now = absl::Now();
    LARDER_RETURN_IF_ERROR(CheckPing(now));
    LARDER_RETURN_IF_ERROR(CheckProbe(now));
    LARDER_RETURN_IF_ERROR(Exchange(NextDeadline()));
    LARDER_RETURN_IF_ERROR(Dispatch());
  }
  return absl::CancelledError("stopping");
}

absl::Status RedisChangeFeed::CheckPing(absl::Time now) {
  if (now >= pong_due_) {
    return absl::UnavailableError(absl::StrCat("redis at ", server_, ": no answer to PING within ",
                                               absl::FormatDuration(options_.command_timeout)));
  }
  if (pong_due_ != absl::InfiniteFuture() || now < ping_due_) return absl::OkStatus();
  std::string ping;
  FormatCommand({"PING"}, ping);
  pong_due_ = now + options_.command_timeout;
  return Send(ping);
}

absl::Status RedisChangeFeed::CheckProbe(absl::Time now) {
  std::string token;
  {
    absl::MutexLock lock(&probe_->mutex);
    if (now >= probe_->due) {
      return absl::UnavailableError(absl::StrCat(
          "redis at ", server_, ": a probe published through the cluster was not heard within ",
          absl::FormatDuration(options_.probe_timeout)));
    }
    // One published and not heard yet is waited for; one never published is replaced.
    if (now < probe_next_ || probe_->due != absl::InfiniteFuture()) return absl::OkStatus();
    probe_->token = token = absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(random_)));
  }
  probe_next_ = now + options_.probe_interval;
  prober_(EncodeProbeMessage(token), [probe = probe_, token, timeout = options_.probe_timeout] {
    absl::MutexLock lock(&probe->mutex);
    if (probe->token == token) probe->due = absl::Now() + timeout;
  });
  return absl::OkStatus();
}

absl::Time RedisChangeFeed::NextDeadline() const {
  absl::Time deadline = pong_due_ == absl::InfiniteFuture() ? ping_due_ : pong_due_;
  deadline = std::min(deadline, probe_next_);
  absl::MutexLock lock(&probe_->mutex);
  return std::min(deadline, probe_->due);
}

absl::Status RedisChangeFeed::Dispatch() {
  while (true) {
    LARDER_ASSIGN_OR_RETURN(RedisReply reply, connection_->NextReply());
    if (reply == nullptr) return absl::OkStatus();
    LARDER_ASSIGN_OR_RETURN(FeedReply received, DecodeFeedReply(*reply, options_.channel));
    switch (received.type) {
      case FeedReply::Type::kMessage:
        Deliver(received.payload);
        break;
      case FeedReply::Type::kPong:
        pong_due_ = absl::InfiniteFuture();
        ping_due_ = absl::Now() + options_.ping_interval;
        break;
      case FeedReply::Type::kSubscribed:
        break;
    }
  }
}

void RedisChangeFeed::Deliver(absl::string_view payload) {
  if (const std::optional<absl::string_view> token = ProbeTokenOf(payload); token.has_value()) {
    absl::MutexLock lock(&probe_->mutex);
    if (*token == probe_->token) {  // Ours: heard. Other larderds' are ignored.
      probe_->token.clear();
      probe_->due = absl::InfiniteFuture();
    }
    return;
  }
  const absl::StatusOr<ChangeMessage> change = DecodeChangeMessage(payload);
  if (!change.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    Log(rejected_log_,
        absl::StrCat("dropped a change message from ", server_, ": ", change.status().message()));
    return;
  }
  listener_.OnChange(change->ns, change->kind, change->subject);
}

absl::Status RedisChangeFeed::Send(absl::string_view commands) {
  LARDER_RETURN_IF_ERROR(connection_->AppendFormatted(commands));
  write_pending_ = true;
  return absl::OkStatus();
}

absl::Status RedisChangeFeed::Exchange(absl::Time deadline) {
  pollfd fds[2] = {
      {connection_->fd(), static_cast<short>(POLLIN | (write_pending_ ? POLLOUT : 0)), 0},
      {wake_fd_, POLLIN, 0}};
  if (poll(fds, 2, PollMillis(deadline)) < 0 && errno != EINTR) {
    return absl::UnavailableError(absl::StrCat("redis at ", server_, ": poll failed"));
  }
  if (fds[1].revents & POLLIN) {
    uint64_t ignored;
    [[maybe_unused]] ssize_t n = read(wake_fd_, &ignored, sizeof(ignored));
  }
  // POLLOUT also ends a connect in progress; its outcome shows in the first write.
  if (write_pending_ && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
    LARDER_ASSIGN_OR_RETURN(bool all_written, connection_->WriteSome());
    write_pending_ = !all_written;
  }
  if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
    LARDER_RETURN_IF_ERROR(connection_->ReadSome());
  }
  return absl::OkStatus();
}

void RedisChangeFeed::WaitForWake(absl::Duration timeout) {
  pollfd fd = {wake_fd_, POLLIN, 0};
  poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)) + 1);
}

bool RedisChangeFeed::Log(LogLimiter& limiter, absl::string_view line) {
  const absl::Time now = absl::Now();
  if (now - limiter.last < options_.log_interval) {
    ++limiter.held_back;
    return false;
  }
  WriteLine(limiter.held_back == 0
                ? std::string(line)
                : absl::StrCat(line, " (", limiter.held_back, " more since the last line)"));
  limiter.last = now;
  limiter.held_back = 0;
  return true;
}

}  // namespace larder::storage::internal

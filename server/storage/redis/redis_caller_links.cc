#include "server/storage/redis/redis_caller_links.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"
#include "server/log/log.h"

namespace larder::storage::internal {

RedisCallerLinks::RedisCallerLinks(RedisEndpoint endpoint, RedisCallerLinkOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {}

absl::StatusOr<std::vector<RedisReply>> RedisCallerLinks::Run(
    int index, const std::vector<std::vector<absl::string_view>>& commands) {
  if (index < 0 || index >= DeferredWork::kMaxThreads) {
    return absl::FailedPreconditionError("redis: not a serving thread");
  }
  Link& link = links_[static_cast<size_t>(index)];
  LARDER_RETURN_IF_ERROR(Connect(link));
  absl::StatusOr<std::vector<RedisReply>> replies = link.connection->RunPipeline(commands);
  if (!replies.ok() || link.connection->broken()) {
    const absl::Status failure =
        replies.ok() ? absl::UnavailableError(absl::StrCat("redis at ", endpoint_.Describe(),
                                                           ": no writable master any more"))
                     : replies.status();
    Fail(link, failure);
    return failure;
  }
  link.backoff = absl::ZeroDuration();
  return replies;
}

absl::Status RedisCallerLinks::Connect(Link& link) {
  if (link.connection != nullptr) return absl::OkStatus();
  if (absl::Now() < link.retry_after) {
    return absl::UnavailableError(
        absl::StrCat("redis at ", endpoint_.Describe(), ": this thread's link backs off"));
  }
  absl::StatusOr<std::unique_ptr<RedisConnection>> opened =
      RedisConnection::Open(endpoint_, options_.read_timeout, options_.read_timeout);
  if (!opened.ok()) {
    Fail(link, opened.status());
    return opened.status();
  }
  link.connection = *std::move(opened);
  return absl::OkStatus();
}

void RedisCallerLinks::Fail(Link& link, const absl::Status& failure) {
  link.connection.reset();
  link.backoff = std::clamp(link.backoff * 2, options_.initial_backoff, options_.max_backoff);
  thread_local absl::InsecureBitGen random;
  link.retry_after = absl::Now() + link.backoff * absl::Uniform(random, 0.5, 1.0);
  if (std::optional<int64_t> suppressed = log_limiter_.Allow("link")) {
    server::Log(server::Severity::kWarning, "redis_caller_link_failed",
                {{"engine", "redis"},
                 {"server", endpoint_.Describe()},
                 {"error", failure},
                 {"backoff", link.backoff},
                 {"suppressed", *suppressed},
                 {"detail", "its Gets go through the server's shared pipe meanwhile"}});
  }
}

int RedisCallerLinks::open_links() const {
  return static_cast<int>(std::count_if(
      links_.begin(), links_.end(), [](const Link& link) { return link.connection != nullptr; }));
}

}  // namespace larder::storage::internal

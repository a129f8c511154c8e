#include "client/src/client_core.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "larder/common/limits.h"

namespace larder::client::internal {
namespace {

// Spread calls over every address the target resolves to.
constexpr char kServiceConfig[] = R"({"loadBalancingConfig": [{"round_robin": {}}]})";

absl::Status ValidateRetry(const RetryOptions& retry) {
  if (retry.max_attempts < 1) return absl::InvalidArgumentError("retry.max_attempts must be >= 1");
  if (retry.initial_backoff < absl::ZeroDuration() || retry.max_backoff < retry.initial_backoff) {
    return absl::InvalidArgumentError("retry backoffs must satisfy 0 <= initial <= max");
  }
  if (retry.backoff_multiplier < 1.0) {
    return absl::InvalidArgumentError("retry.backoff_multiplier must be >= 1");
  }
  if (retry.jitter < 0.0 || retry.jitter > 1.0) {
    return absl::InvalidArgumentError("retry.jitter must be in [0, 1]");
  }
  if (retry.budget_ratio < 0.0 || retry.budget_min_retries_per_second < 0) {
    return absl::InvalidArgumentError("the retry budget must not be negative");
  }
  return absl::OkStatus();
}

// How often a client with a near cache pings larderd, and how long it waits for the answer.
constexpr absl::Duration kNearKeepalive = absl::Seconds(5);

// Namespaces one client may keep near: one Watch stream each.
constexpr size_t kMaxNearNamespaces = 64;

absl::Status ValidateNearCache(const NearCacheOptions& near) {
  if (near.namespaces.empty()) return absl::OkStatus();
  if (near.namespaces.size() > kMaxNearNamespaces) {
    return absl::InvalidArgumentError(absl::StrCat(
        "near_cache.namespaces: at most ", kMaxNearNamespaces, ", got ", near.namespaces.size()));
  }
  for (const std::string& ns : near.namespaces) {
    const bool valid = !ns.empty() && ns.size() <= limits::kMaxNamespaceBytes &&
                       std::all_of(ns.begin(), ns.end(), [](char c) {
                         return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
                       });
    if (!valid) {
      return absl::InvalidArgumentError(
          "near_cache.namespaces: each must be 1-128 characters of [A-Za-z0-9_.-]");
    }
  }
  if (near.max_bytes < (int64_t{64} << 10) || near.max_entries < 1) {
    return absl::InvalidArgumentError(
        "near_cache: max_bytes must be at least 64 KiB and max_entries at least 1");
  }
  return absl::OkStatus();
}

absl::Status Validate(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("ClientOptions.target is empty");
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ClientOptions.deadline must be positive");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.max_reconnect_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout and max_reconnect_backoff must be positive");
  }
  if (options.max_receive_message_bytes < 1 ||
      options.max_receive_message_bytes > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.max_receive_message_bytes must be 1 to ",
                     std::numeric_limits<int>::max(), ", got ", options.max_receive_message_bytes));
  }
  if (options.tls.has_value() &&
      options.tls->client_cert_chain_pem.empty() != options.tls->client_private_key_pem.empty()) {
    return absl::InvalidArgumentError("TLS client certificate and key go together");
  }
  if (absl::Status near = ValidateNearCache(options.near_cache); !near.ok()) return near;
  return ValidateRetry(options.retry);
}

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 1, 1 << 30));
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  // The client retries itself, under its budget; gRPC's retries would multiply attempts.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Validated to fit an int.
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_receive_message_bytes));
  const int max_backoff = Milliseconds(options.max_reconnect_backoff);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Milliseconds(options.connect_timeout));
  if (!options.near_cache.namespaces.empty()) {
    // A larderd that went silent (its host or the network gone, no FIN or RST) must end the
    // Watch streams, or the near cache would serve on: keepalive pings find it within
    // kNearKeepalive twice over. larderd accepts pings this often.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(kNearKeepalive));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(kNearKeepalive));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls.has_value()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls->root_certs_pem;
    ssl.pem_cert_chain = options.tls->client_cert_chain_pem;
    ssl.pem_private_key = options.tls->client_private_key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientCore>> ClientCore::Create(ClientOptions options) {
  absl::Status valid = Validate(options);
  if (!valid.ok()) return valid;
  if (options.clock == nullptr) options.clock = &Clock::Real();
  auto auth = AuthToken::Create(options, *options.clock, std::getenv);
  if (!auth.ok()) return auth.status();
  auto metrics = ClientMetrics::Create(options.metrics_registry, options.max_metric_namespaces);
  if (!metrics.ok()) return metrics.status();
  std::shared_ptr<grpc::Channel> channel = MakeChannel(options);
  auto core = std::unique_ptr<ClientCore>(new ClientCore(std::move(options), *std::move(metrics),
                                                         *std::move(auth), std::move(channel)));
  core->StartNearCache();
  return core;
}

void ClientCore::StartNearCache() {
  const NearCacheOptions& near = options_.near_cache;
  if (near.namespaces.empty()) return;
  NearCacheLimits limits;
  limits.max_bytes = near.max_bytes;
  limits.max_entries = near.max_entries;
  near_cache_ = std::make_unique<NearCache>(limits, *options_.clock, &metrics_->near_cache());
  near_namespaces_.insert(near.namespaces.begin(), near.namespaces.end());
  near_watcher_ = std::make_unique<NearWatcher>(*this, *near_cache_, near.namespaces);
  near_watcher_->Start();
}

NearCache* ClientCore::near_cache_for(absl::string_view ns) const {
  if (near_cache_ == nullptr || !near_namespaces_.contains(ns)) return nullptr;
  return near_cache_.get();
}

ClientCore::ClientCore(ClientOptions options, std::unique_ptr<ClientMetrics> metrics,
                       std::unique_ptr<AuthToken> auth, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      metrics_(std::move(metrics)),
      auth_(std::move(auth)),
      channel_(std::move(channel)),
      stub_(v1::Cache::NewStub(channel_)),
      budget_(options_.retry.budget_ratio, options_.retry.budget_min_retries_per_second,
              *options_.clock) {}

ClientCore::~ClientCore() {
  if (near_watcher_ != nullptr) near_watcher_->Stop();
  absl::MutexLock lock(&mutex_, absl::Condition(this, &ClientCore::NoCallInFlight));
}

void ClientCore::Authorize(grpc::ClientContext& context) {
  const std::string value = auth_->HeaderValue();
  if (!value.empty()) context.AddMetadata("authorization", value);
}

void ClientCore::CallStarted() {
  budget_.RecordCall();
  absl::MutexLock lock(&mutex_);
  ++in_flight_;
}

void ClientCore::CallFinished() {
  absl::MutexLock lock(&mutex_);
  --in_flight_;
}

std::optional<absl::Time> ClientCore::RetryTime(const absl::Status& failure,
                                                Idempotency idempotency, int attempts_made,
                                                absl::Time deadline) {
  if (!MayRetry(failure.code(), idempotency)) return std::nullopt;
  if (attempts_made >= options_.retry.max_attempts) return std::nullopt;
  thread_local absl::InsecureBitGen random;
  const absl::Duration pause =
      BackoffDelay(options_.retry, attempts_made, absl::Uniform(random, 0.0, 1.0));
  const absl::Time when = absl::Now() + pause;
  if (when >= deadline) return std::nullopt;
  if (!budget_.TryRetry()) return std::nullopt;
  metrics_->RecordRetry();
  return when;
}

}  // namespace larder::client::internal

#include "server/server_options.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "larder/common/limits.h"

namespace larder::server {
namespace {

// More completion-queue threads than this only add hand-overs between them.
constexpr int kMaxGrpcThreads = 256;

absl::Status Invalid(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
}

absl::Status ValidateAddress(absl::string_view flag, absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    return Invalid(flag, absl::StrCat("must be host:port, got \"", address, "\""));
  }
  return absl::OkStatus();
}

// Durations gRPC takes in milliseconds as an int: 0 (off) to about 24 days.
absl::Status ValidateConnectionAge(absl::string_view flag, absl::Duration age) {
  if (age < absl::ZeroDuration() || age > absl::Milliseconds(std::numeric_limits<int>::max())) {
    return Invalid(flag,
                   absl::StrCat("must be 0 (off) to 24 days, got ", absl::FormatDuration(age)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& options) {
  if (absl::Status s = ValidateAddress("--listen", options.listen); !s.ok()) return s;
  if (!options.metrics_address.empty()) {
    if (absl::Status s = ValidateAddress("--metrics-address", options.metrics_address); !s.ok()) {
      return s;
    }
  }
  if (!options.health_listen.empty()) {
    if (absl::Status s = ValidateAddress("--health-listen", options.health_listen); !s.ok()) {
      return s;
    }
  }
  if (options.auth_tls_principal != auth::TlsPrincipal::kNone &&
      (options.auth_tokens_file.empty() || options.tls.client_ca_file.empty())) {
    return Invalid("--auth-tls-principal",
                   "needs --auth-tokens-file and --tls-client-ca-file (mutual TLS)");
  }
  const CacheHandlerOptions& handler = options.handler;
  if (handler.default_ttl < absl::ZeroDuration()) {
    return Invalid("--default-ttl", "must be 0 (none) or positive");
  }
  if (handler.max_ttl < absl::ZeroDuration()) {
    return Invalid("--max-ttl", "must be 0 (none) or positive");
  }
  if (handler.max_ttl > absl::ZeroDuration() &&
      (handler.default_ttl == absl::ZeroDuration() || handler.default_ttl > handler.max_ttl)) {
    return Invalid("--default-ttl", absl::StrCat("must be set and at most --max-ttl (",
                                                 absl::FormatDuration(handler.max_ttl), ")"));
  }
  if (handler.max_value_bytes < 1 || handler.max_value_bytes > limits::kMaxMaxValueBytes) {
    return Invalid("--max-value-bytes", absl::StrCat("must be 1 to ", limits::kMaxMaxValueBytes,
                                                     ", got ", handler.max_value_bytes));
  }
  if (handler.max_response_bytes < handler.max_value_bytes ||
      handler.max_response_bytes > (int64_t{2} << 30) - limits::kMessageOverheadBytes) {
    return Invalid("--max-response-bytes",
                   absl::StrCat("must be --max-value-bytes (", handler.max_value_bytes,
                                ") to 2 GiB - 1 MiB, got ", handler.max_response_bytes));
  }
  if (options.metrics_max_namespaces < 1) return Invalid("--metrics-max-namespaces", ">= 1");
  if (options.namespace_op_threads < 1) {
    return Invalid("--namespace-op-threads", "must be at least 1");
  }
  if (options.storage_threads < 1) return Invalid("--storage-threads", "must be at least 1");
  if (options.grpc_threads < 0 || options.grpc_threads > kMaxGrpcThreads) {
    return Invalid("--grpc-threads", absl::StrCat("must be 0 (one per core) to ", kMaxGrpcThreads,
                                                  ", got ", options.grpc_threads));
  }
  const std::string& redis_mode = options.engine_options.redis.mode;
  if (redis_mode != "auto" && redis_mode != "standalone" && redis_mode != "cluster") {
    return Invalid("--redis-mode",
                   absl::StrCat("must be auto, standalone or cluster, got \"", redis_mode, "\""));
  }
  if (options.engine == "redis" &&
      options.engine_options.redis.pool_size < options.storage_threads) {
    return Invalid("--redis-pool-size",
                   absl::StrCat("must be at least --storage-threads (", options.storage_threads,
                                "), got ", options.engine_options.redis.pool_size));
  }
  if (options.health_check_interval <= absl::ZeroDuration()) {
    return Invalid("--health-check-interval", "must be positive");
  }
  if (absl::Status s = ValidateConnectionAge("--max-connection-age", options.max_connection_age);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateConnectionAge("--max-connection-age-grace", options.max_connection_age_grace);
      !s.ok()) {
    return s;
  }
  if (options.watch.max_watchers < 0) return Invalid("--max-watchers", "must be 0 (none) or more");
  if (options.watch.buffer_bytes < 8192) {
    return Invalid("--watch-buffer-bytes",
                   absl::StrCat("must be at least 8 KiB (an event of the longest key), got ",
                                options.watch.buffer_bytes));
  }
  return absl::OkStatus();
}

}  // namespace larder::server

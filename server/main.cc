// larderd: flags (and LARDER_* environment variables) -> ServerOptions -> LarderServer.
// Serves until SIGTERM or SIGINT, then shuts down gracefully.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "larder/common/limits.h"
#include "server/flag_help.h"
#include "server/flag_types.h"
#include "server/log/log.h"
#include "server/server.h"
#include "server/storage/engine_registry.h"

using larder::server::ByteSize;

#ifndef LARDER_VERSION
#define LARDER_VERSION "dev"
#endif

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port of the gRPC service");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain: serve gRPC over TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls-cert-file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: require client certificates it signed (mutual TLS)");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "tokens file (name sha256:<hex> namespaces permissions per line): callers must send "
          "authorization: Bearer <token>; re-read on SIGHUP and when it changes");
ABSL_FLAG(std::string, auth_tls_principal, "",
          "with mutual TLS, a client certificate's cn or san names a principal of the tokens file");
ABSL_FLAG(bool, reflection, true,
          "serve gRPC server reflection; with --auth-tokens-file only when given explicitly");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of an extra plaintext port serving only grpc.health.v1 (for probes)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "host:port of Prometheus /metrics; empty disables it");
ABSL_FLAG(std::string, engine, "memory", "storage engine: memory, rocksdb, redis or memcached");
ABSL_FLAG(absl::Duration, default_ttl, absl::ZeroDuration(),
          "TTL of entries stored without one, e.g. 5m; 0 means they never expire");
ABSL_FLAG(absl::Duration, max_ttl, absl::ZeroDuration(), "largest TTL allowed; 0 means none");
ABSL_FLAG(ByteSize, memory_limit, ByteSize{int64_t{1} << 30},
          "bytes the memory engine may hold before it evicts, e.g. 512MiB");
ABSL_FLAG(ByteSize, max_value_bytes, ByteSize{int64_t{8} << 20}, "largest value a Set may store");
ABSL_FLAG(ByteSize, max_response_bytes, ByteSize{larder::limits::kDefaultMaxResponseBytes},
          "largest MultiGet response; past it the call fails with RESOURCE_EXHAUSTED");
ABSL_FLAG(int, namespace_op_threads, 2,
          "threads running Invalidate and Stats (never on gRPC's threads), on every engine");
ABSL_FLAG(int, memory_shards, 16, "independently locked shards of the memory engine");
ABSL_FLAG(int, metrics_max_namespaces, 100,
          "namespaces with their own label on /metrics; the rest are summed as _other");
ABSL_FLAG(std::string, data_dir, "", "RocksDB engine: directory of the database");
ABSL_FLAG(ByteSize, rocksdb_block_cache_bytes, ByteSize{int64_t{256} << 20},
          "RocksDB engine: block cache size");
ABSL_FLAG(std::string, rocksdb_compression, "lz4", "RocksDB engine: lz4, zstd or none");
ABSL_FLAG(bool, rocksdb_sync_writes, false,
          "RocksDB engine: fsync the log before acknowledging a write (survives power loss)");
ABSL_FLAG(absl::Duration, rocksdb_periodic_compaction, absl::Hours(24),
          "RocksDB engine: recompact files older than this so expired entries are reclaimed");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379/0",
          "Redis engine: redis://[user:password@]host:port[,host:port...]/db (one server, or "
          "seed nodes of a Redis Cluster)");
ABSL_FLAG(std::string, redis_mode, "auto",
          "Redis engine: auto (ask the first seed that answers), standalone or cluster");
ABSL_FLAG(std::string, redis_key_prefix, "larder:", "Redis engine: prefix of every key");
ABSL_FLAG(int, redis_pool_size, 8, "Redis engine: connections kept open");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(1),
          "Redis engine: connect and command timeout");
ABSL_FLAG(std::string, memcached_servers, "127.0.0.1:11211",
          "memcached engine: host:port[,host:port...], keys spread by consistent hashing");
ABSL_FLAG(std::string, memcached_key_prefix, "larder:",
          "memcached engine: prefix of every key (printable ASCII, no spaces, at most 64 bytes)");
ABSL_FLAG(absl::Duration, memcached_timeout, absl::Seconds(1),
          "memcached engine: connect and I/O timeout");
ABSL_FLAG(ByteSize, memcached_max_item_bytes, ByteSize{int64_t{1} << 20},
          "memcached engine: the servers' item size limit (memcached -I); larger items are "
          "refused");
ABSL_FLAG(absl::Duration, metrics_engine_stats_max_age, absl::Seconds(30),
          "how long /metrics reuses entry/byte counts of engines that count by scanning");
ABSL_FLAG(int64_t, max_leases, 100000,
          "leases outstanding at once (memory, RocksDB engines); a miss beyond gets no lease");
ABSL_FLAG(absl::Duration, lease_grace, absl::Seconds(10),
          "how long a value stored with a lease token is offered as stale after it expired or "
          "was removed; 0 keeps none");
ABSL_FLAG(ByteSize, lease_stale_bytes, ByteSize{int64_t{64} << 20},
          "memory, RocksDB engines: bytes of stale copies kept for leases");
ABSL_FLAG(int64_t, max_watchers, 4096, "Watch streams open at once (near caches of SDK processes)");
ABSL_FLAG(ByteSize, watch_buffer_bytes, ByteSize{int64_t{64} << 10},
          "bytes of events one Watch stream may have waiting; past it they become one reset");
ABSL_FLAG(std::string, grpc_api, "async",
          "gRPC server API: async (completion queues polled by larderd's own threads) or "
          "callback (gRPC's callback threads)");
ABSL_FLAG(int, grpc_threads, 0,
          "with --grpc-api=async, threads (one completion queue each) serving the gRPC port; 0: "
          "one per core");
ABSL_FLAG(int, storage_threads, 4,
          "threads running calls of the RocksDB, Redis and memcached engines");
ABSL_FLAG(absl::Duration, health_check_interval, absl::Seconds(1),
          "how often engine health is checked");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long shutdown waits for in-flight calls");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(5),
          "close client connections (GOAWAY) after about this long, with jitter, so clients "
          "rebalance onto new replicas; 0 disables. Watch streams end too: the SDK's near cache "
          "reconnects and starts again from a reset");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(30),
          "after --max-connection-age, how long calls in flight may finish before the "
          "connection is closed; 0 disables the limit");
ABSL_FLAG(std::string, log_format, "text",
          "log lines on stderr: text (time LEVEL event key=value...) or json (one object a line)");

namespace larder::server {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "larderd: " << message << std::endl;
  exit(2);
}

// Applies LARDER_<FLAG> environment variables; the command line, parsed after, wins.
void ApplyEnvironment() {
  for (const std::string& name : LarderdFlagNames()) {
    const std::string variable = EnvironmentVariableFor(name);
    const char* value = getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !flag->ParseFrom(value, &error)) Fail(variable + ": " + error);
  }
}

storage::Compression ParseCompression(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "lz4") return storage::Compression::kLz4;
  if (lower == "zstd") return storage::Compression::kZstd;
  if (lower == "none") return storage::Compression::kNone;
  Fail("--rocksdb-compression: must be lz4, zstd or none, got \"" + name + "\"");
}

storage::EngineOptions EngineOptionsFromFlags(int64_t max_value_bytes) {
  storage::EngineOptions engine;
  engine.memory.max_bytes = absl::GetFlag(FLAGS_memory_limit).bytes;
  engine.memory.shards = absl::GetFlag(FLAGS_memory_shards);
  engine.memory.max_entry_bytes = max_value_bytes + (int64_t{64} << 10);
  engine.rocksdb.path = absl::GetFlag(FLAGS_data_dir);
  engine.rocksdb.block_cache_bytes = absl::GetFlag(FLAGS_rocksdb_block_cache_bytes).bytes;
  engine.rocksdb.compression = ParseCompression(absl::GetFlag(FLAGS_rocksdb_compression));
  engine.rocksdb.sync_writes = absl::GetFlag(FLAGS_rocksdb_sync_writes);
  engine.rocksdb.periodic_compaction = absl::GetFlag(FLAGS_rocksdb_periodic_compaction);
  engine.redis.url = absl::GetFlag(FLAGS_redis_url);
  engine.redis.mode = absl::GetFlag(FLAGS_redis_mode);
  engine.redis.key_prefix = absl::GetFlag(FLAGS_redis_key_prefix);
  engine.redis.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  engine.redis.connect_timeout = engine.redis.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  if (const char* password = getenv("LARDER_REDIS_PASSWORD")) engine.redis.password = password;
  engine.memcached.servers = absl::GetFlag(FLAGS_memcached_servers);
  engine.memcached.key_prefix = absl::GetFlag(FLAGS_memcached_key_prefix);
  engine.memcached.timeout = absl::GetFlag(FLAGS_memcached_timeout);
  engine.memcached.max_item_bytes = absl::GetFlag(FLAGS_memcached_max_item_bytes).bytes;
  engine.leases.max_leases = absl::GetFlag(FLAGS_max_leases);
  engine.leases.grace = absl::GetFlag(FLAGS_lease_grace);
  engine.leases.stale_bytes = absl::GetFlag(FLAGS_lease_stale_bytes).bytes;
  if (engine.leases.max_leases < 1) Fail("--max-leases: must be at least 1");
  if (engine.leases.grace < absl::ZeroDuration()) Fail("--lease-grace: must not be negative");
  return engine;
}

auth::TlsPrincipal ParseTlsPrincipal(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty()) return auth::TlsPrincipal::kNone;
  if (lower == "cn") return auth::TlsPrincipal::kCommonName;
  if (lower == "san") return auth::TlsPrincipal::kSubjectAltName;
  Fail("--auth-tls-principal: must be cn or san, got \"" + name + "\"");
}

GrpcApi ParseGrpcApi(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "async") return GrpcApi::kAsync;
  if (lower == "callback") return GrpcApi::kCallback;
  Fail("--grpc-api: must be async or callback, got \"" + name + "\"");
}

// True when `flag` was given on the command line (as --flag, --noflag or --flag=...) or through
// its LARDER_ environment variable.
bool FlagGiven(const std::vector<std::string>& arguments, const std::string& flag) {
  if (getenv(EnvironmentVariableFor(flag).c_str()) != nullptr) return true;
  for (const std::string& argument : arguments) {
    for (const std::string& form : {"--" + flag, "--no" + flag}) {
      if (argument == form || argument.rfind(form + "=", 0) == 0) return true;
    }
  }
  return false;
}

ServerOptions OptionsFromFlags(const std::vector<std::string>& arguments) {
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  options.auth_tls_principal = ParseTlsPrincipal(absl::GetFlag(FLAGS_auth_tls_principal));
  if (FlagGiven(arguments, "reflection")) options.reflection = absl::GetFlag(FLAGS_reflection);
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.engine = absl::GetFlag(FLAGS_engine);
  options.handler.default_ttl = absl::GetFlag(FLAGS_default_ttl);
  options.handler.max_ttl = absl::GetFlag(FLAGS_max_ttl);
  options.handler.max_value_bytes = absl::GetFlag(FLAGS_max_value_bytes).bytes;
  options.handler.max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes).bytes;
  options.namespace_op_threads = absl::GetFlag(FLAGS_namespace_op_threads);
  options.engine_options = EngineOptionsFromFlags(options.handler.max_value_bytes);
  const int max_namespaces = absl::GetFlag(FLAGS_metrics_max_namespaces);
  if (max_namespaces < 1) Fail("--metrics-max-namespaces: must be at least 1");
  options.metrics_max_namespaces = static_cast<size_t>(max_namespaces);
  options.storage_threads = absl::GetFlag(FLAGS_storage_threads);
  options.grpc_api = ParseGrpcApi(absl::GetFlag(FLAGS_grpc_api));
  options.grpc_threads = absl::GetFlag(FLAGS_grpc_threads);
  // memcached connections: one per thread that may call the engine at once (storage threads,
  // namespace-operation threads and the health check), to each server.
  options.engine_options.memcached.pool_size =
      options.storage_threads + options.namespace_op_threads + 1;
  options.engine_stats_max_age = absl::GetFlag(FLAGS_metrics_engine_stats_max_age);
  options.health_check_interval = absl::GetFlag(FLAGS_health_check_interval);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.watch.max_watchers = absl::GetFlag(FLAGS_max_watchers);
  options.watch.buffer_bytes = absl::GetFlag(FLAGS_watch_buffer_bytes).bytes;
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  return options;
}

std::vector<char*> NormalizedArguments(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  std::vector<char*> pointers;
  for (std::string& argument : storage) {
    argument = NormalizeFlagArgument(argument);
    pointers.push_back(argument.data());
  }
  return pointers;
}

// The "start" line: the version and every flag in effect, secrets redacted (a Redis URL's
// password; LARDER_REDIS_PASSWORD and the tokens file's contents are never read here).
void LogStart(const LarderServer& server) {
  std::vector<LogField> fields = {{"version", LARDER_VERSION},
                                  {"pid", static_cast<int64_t>(getpid())},
                                  {"grpc", server.grpc_address()},
                                  {"metrics", server.metrics_address()}};
  for (const std::string& name : LarderdFlagNames()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string value = flag->CurrentValue();
    fields.emplace_back(name, name == "redis_url" ? RedactUrlPassword(value) : value);
  }
  Log(Severity::kInfo, "start", fields);
}

void ParseFlags(int argc, char** argv, std::vector<std::string>& storage) {
  ConfigureFlagUsage();
  absl::SetProgramUsageMessage(
      "the larder cache service. Flags use dashes or underscores; each also reads "
      "LARDER_<FLAG_NAME>. --help lists larderd's flags by topic.");
  ApplyEnvironment();
  std::vector<char*> arguments = NormalizedArguments(argc, argv, storage);
  if (HelpRequested(storage)) {
    std::cout << FlagHelpText();
    exit(0);
  }
  absl::ParseCommandLine(static_cast<int>(arguments.size()), arguments.data());
  LogFormat format;
  if (!ParseLogFormat(absl::GetFlag(FLAGS_log_format), &format)) {
    Fail("--log-format: must be text or json, got \"" + absl::GetFlag(FLAGS_log_format) + "\"");
  }
  SetLogFormat(format);
}

int Run(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for deadlock cycles under one global lock, gRPC's own
  // included: about an eighth of the instructions of a Get (docs/performance.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> storage;
  ParseFlags(argc, argv, storage);
  const ServerOptions options = OptionsFromFlags(storage);

  sigset_t signals;  // Blocked before any thread starts, so only sigwait sees them.
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  storage::EngineRegistry registry;
  storage::RegisterBuiltinEngines(registry);
  auto server = LarderServer::Start(options, registry, Clock::Real());
  if (!server.ok()) Fail(std::string(server.status().message()));
  LogStart(**server);
  // Printed once the engine is usable; until then the log says what larderd waits for. The log
  // line comes first, so whoever waits for the standard output line finds the log complete.
  (*server)->WhenReady([&running = **server, engine = options.engine] {
    Log(Severity::kInfo, "ready",
        {{"grpc", running.grpc_address()},
         {"metrics", running.metrics_address()},
         {"engine", engine}});
    std::cout << "larderd ready grpc=" << running.grpc_address()
              << " metrics=" << running.metrics_address() << " engine=" << engine << std::endl;
  });
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) (*server)->ReloadAuth();
  Log(Severity::kInfo, "shutdown_started",
      {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}, {"grace", options.shutdown_grace}});
  (*server)->Shutdown();
  Log(Severity::kInfo, "shutdown_complete");
  return 0;
}

}  // namespace
}  // namespace larder::server

int main(int argc, char** argv) { return larder::server::Run(argc, argv); }

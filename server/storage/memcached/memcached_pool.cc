#include "server/storage/memcached/memcached_pool.h"

#include <libmemcached/memcached.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace larder::storage::internal {
namespace {

constexpr size_t kMaxServers = 64;
constexpr size_t kMaxKeyPrefixBytes = 64;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--memcached-servers: ", what));
}

absl::StatusOr<MemcachedServer> ParseServer(absl::string_view entry) {
  MemcachedServer server;
  absl::string_view rest = entry;
  if (absl::ConsumePrefix(&rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return Invalid(absl::StrCat("no ']' in \"", entry, "\""));
    server.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
  } else {
    const size_t colon = rest.find(':');
    server.host = std::string(rest.substr(0, colon));
    rest = colon == absl::string_view::npos ? absl::string_view() : rest.substr(colon);
  }
  if (server.host.empty()) return Invalid(absl::StrCat("no host in \"", entry, "\""));
  if (!rest.empty()) {
    if (!absl::ConsumePrefix(&rest, ":") || !absl::SimpleAtoi(rest, &server.port) ||
        server.port < 1 || server.port > 65535) {
      return Invalid(absl::StrCat("bad port in \"", entry, "\""));
    }
  }
  return server;
}

absl::Status SetBehaviors(memcached_st* memc, const MemcachedEngineOptions& options) {
  const uint64_t timeout_ms =
      static_cast<uint64_t>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.timeout)));
  const uint64_t retry_s =
      static_cast<uint64_t>(std::max<int64_t>(1, absl::ToInt64Seconds(options.retry_timeout)));
  const std::pair<memcached_behavior_t, uint64_t> behaviors[] = {
      {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
      {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
      {MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1},
      {MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1},
      {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
      {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
      {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, timeout_ms},
      {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout_ms},
      {MEMCACHED_BEHAVIOR_SND_TIMEOUT, timeout_ms * 1000},
      {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, timeout_ms * 1000},
      {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, retry_s},
      // A failed server is skipped, never removed: removing it would move its keys to others.
      {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
  };
  for (const auto& [behavior, value] : behaviors) {
    const memcached_return_t rc = memcached_behavior_set(memc, behavior, value);
    if (!memcached_success(rc)) {
      return absl::InternalError(
          absl::StrCat("libmemcached refused a setting: ", memcached_strerror(memc, rc)));
    }
  }
  return absl::OkStatus();
}

// For each server, a short key that `memc`'s hashing sends to it.
absl::StatusOr<std::vector<std::string>> GroupKeys(memcached_st* memc, size_t servers) {
  std::vector<std::string> keys(servers);
  size_t found = 0;
  for (int n = 0; n < 1000000 && found < servers; ++n) {
    std::string key = absl::StrCat("larder-server-", n);
    const uint32_t index = memcached_generate_hash(memc, key.data(), key.size());
    if (index < servers && keys[index].empty()) {
      keys[index] = std::move(key);
      ++found;
    }
  }
  if (found < servers) return Invalid("a server receives no keys (is it listed twice?)");
  return keys;
}

}  // namespace

std::string MemcachedServer::Name() const {
  return host.find(':') == std::string::npos ? absl::StrCat(host, ":", port)
                                             : absl::StrCat("[", host, "]:", port);
}

absl::StatusOr<std::vector<MemcachedServer>> ParseMemcachedServers(absl::string_view servers) {
  std::vector<MemcachedServer> parsed;
  for (absl::string_view entry : absl::StrSplit(servers, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) return Invalid("an empty entry");
    absl::StatusOr<MemcachedServer> server = ParseServer(entry);
    if (!server.ok()) return server.status();
    parsed.push_back(*std::move(server));
  }
  if (parsed.size() > kMaxServers)
    return Invalid(absl::StrCat("at most ", kMaxServers, " servers"));
  return parsed;
}

namespace {

absl::Status CheckKeyPrefix(absl::string_view prefix) {
  if (prefix.size() > kMaxKeyPrefixBytes) {
    return absl::InvalidArgumentError("--memcached-key-prefix: at most 64 bytes");
  }
  for (char c : prefix) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "--memcached-key-prefix: printable ASCII characters only, no spaces");
    }
  }
  return absl::OkStatus();
}

// A client configured from scratch: memcached_clone loses KETAMA_WEIGHTED (libmemcached 1.1),
// and a clone would then send keys to other servers than the client it was cloned from.
absl::StatusOr<memcached_st*> NewClient(const MemcachedEngineOptions& options,
                                        const std::vector<MemcachedServer>& servers) {
  memcached_st* memc = memcached_create(nullptr);
  if (memc == nullptr) return absl::ResourceExhaustedError("memcached_create failed");
  absl::Status status = SetBehaviors(memc, options);
  for (size_t i = 0; status.ok() && i < servers.size(); ++i) {
    const memcached_return_t rc = memcached_server_add_with_weight(
        memc, servers[i].host.c_str(), static_cast<in_port_t>(servers[i].port), 1);
    if (!memcached_success(rc)) {
      status = Invalid(absl::StrCat(servers[i].Name(), ": ", memcached_strerror(memc, rc)));
    }
  }
  if (status.ok()) return memc;
  memcached_free(memc);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemcachedPool>> MemcachedPool::Create(
    const MemcachedEngineOptions& options) {
  absl::StatusOr<std::vector<MemcachedServer>> servers = ParseMemcachedServers(options.servers);
  if (!servers.ok()) return servers.status();
  if (absl::Status prefix = CheckKeyPrefix(options.key_prefix); !prefix.ok()) return prefix;
  if (options.pool_size < 1) return absl::InvalidArgumentError("memcached pool size: at least 1");
  std::vector<memcached_st*> clients;
  absl::Status status;
  for (int i = 0; status.ok() && i < options.pool_size; ++i) {
    absl::StatusOr<memcached_st*> client = NewClient(options, *servers);
    status = client.status();
    if (client.ok()) clients.push_back(*client);
  }
  absl::StatusOr<std::vector<std::string>> group_keys =
      status.ok() ? GroupKeys(clients.front(), servers->size()) : status;
  if (!group_keys.ok()) {
    for (memcached_st* memc : clients) memcached_free(memc);
    return group_keys.status();
  }
  return std::unique_ptr<MemcachedPool>(
      new MemcachedPool(*std::move(servers), *std::move(group_keys), std::move(clients)));
}

MemcachedPool::MemcachedPool(std::vector<MemcachedServer> servers,
                             std::vector<std::string> group_keys,
                             std::vector<memcached_st*> clients)
    : servers_(std::move(servers)), group_keys_(std::move(group_keys)), all_(clients) {
  absl::MutexLock lock(&mutex_);
  free_ = std::move(clients);
}

MemcachedPool::~MemcachedPool() {
  for (memcached_st* memc : all_) memcached_free(memc);
}

MemcachedPool::Client MemcachedPool::Borrow() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](std::vector<memcached_st*>* free) { return !free->empty(); }, &free_));
  memcached_st* memc = free_.back();
  free_.pop_back();
  return Client(*this, memc);
}

void MemcachedPool::Return(memcached_st* memc) {
  absl::MutexLock lock(&mutex_);
  free_.push_back(memc);
}

}  // namespace larder::storage::internal

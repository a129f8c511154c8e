// MemcachedPool: the memcached engine's connections. One configured libmemcached client (binary
// protocol, ketama consistent hashing, CAS, timeouts) cloned once per pool slot; a call borrows a
// clone for its duration (a memcached_st is not thread-safe). Also parses --memcached-servers and
// finds, for each server, a group key that libmemcached's hashing sends to it, so the engine can
// address every server (generation counters live on each server).
//
//   auto pool = internal::MemcachedPool::Create(options);
//   internal::MemcachedPool::Client client = (*pool)->Borrow();
//   memcached_get(client.get(), ...);
//
// A server that fails is skipped for `retry_timeout` (libmemcached answers its keys at once with
// an error, which the engine turns into a miss for reads); its keys are never moved to another
// server, so a server that comes back never serves values older than what the others hold.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/engine_options.h"

struct memcached_st;

namespace larder::storage::internal {

struct MemcachedServer {
  std::string host;
  int port = 11211;
  // host:port, [v6]:port.
  std::string Name() const;
};

// Parses host[:port][,host[:port]...] (at most 64 servers); kInvalidArgument naming the entry.
absl::StatusOr<std::vector<MemcachedServer>> ParseMemcachedServers(absl::string_view servers);

// Thread-safe.
class MemcachedPool {
 public:
  // kInvalidArgument for bad options. The servers need not be up.
  static absl::StatusOr<std::unique_ptr<MemcachedPool>> Create(
      const MemcachedEngineOptions& options);
  ~MemcachedPool();

  // A borrowed client; returned to the pool when destroyed.
  class Client {
   public:
    Client(MemcachedPool& pool, memcached_st* memc) : pool_(&pool), memc_(memc) {}
    Client(Client&& other) noexcept : pool_(other.pool_), memc_(other.memc_) {
      other.memc_ = nullptr;
    }
    Client& operator=(Client&&) = delete;
    ~Client() {
      if (memc_ != nullptr) pool_->Return(memc_);
    }
    memcached_st* get() const { return memc_; }

   private:
    MemcachedPool* pool_;
    memcached_st* memc_;
  };

  // Waits while every client is borrowed.
  Client Borrow();

  const std::vector<MemcachedServer>& servers() const { return servers_; }
  // group_keys()[i] is hashed to servers()[i].
  const std::vector<std::string>& group_keys() const { return group_keys_; }

 private:
  MemcachedPool(std::vector<MemcachedServer> servers, std::vector<std::string> group_keys,
                std::vector<memcached_st*> clients);
  void Return(memcached_st* memc);

  const std::vector<MemcachedServer> servers_;
  const std::vector<std::string> group_keys_;
  std::vector<memcached_st*> all_;
  absl::Mutex mutex_;
  std::vector<memcached_st*> free_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace larder::storage::internal

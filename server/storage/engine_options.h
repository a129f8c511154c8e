// Options of each storage engine, as plain structs. larderd maps its flags into these once
// (server/main.cc); tests fill them directly. Only the chosen engine's struct is read.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace larder::storage {

struct MemoryEngineOptions {
  // Upper bound on the bytes charged for entries (keys, values, ETags, tags and a fixed
  // per-entry overhead). Beyond it, entries are evicted. Default: 1 GiB.
  int64_t max_bytes = int64_t{1} << 30;
  // Independent shards, each with its own lock and an equal share of max_bytes. Lowered at
  // start-up when a share could not hold one largest entry. Default: 16.
  int shards = 16;
  // The largest entry charge that must always fit in one shard (set from --max-value-bytes).
  // Default: 8 MiB + 64 KiB.
  int64_t max_entry_bytes = (int64_t{8} << 20) + (int64_t{64} << 10);
  // How often the background sweeper reclaims expired entries; zero disables the thread
  // (tests call MemoryEngine::SweepExpired themselves). Default: 1 s.
  absl::Duration sweep_interval = absl::Seconds(1);
  // Entries examined per shard per sweep, bounding the work of one tick. Default: 256.
  int sweep_batch = 256;
};

enum class Compression { kNone, kLz4, kZstd };

struct RocksDbEngineOptions {
  // Directory of the database; created when missing. Default: none (required).
  std::string path;
  // Size of the block cache (LRU). Default: 256 MiB.
  int64_t block_cache_bytes = int64_t{256} << 20;
  // Compression of data blocks. Default: LZ4.
  Compression compression = Compression::kLz4;
  // fsync the write-ahead log before a write returns. Off, an acknowledged write survives a
  // crash of larderd (kill -9) but not a crash of the machine. Default: false.
  bool sync_writes = false;
  // Files older than this are recompacted, so the expiry filter reclaims dead entries even in
  // key ranges that see no new writes. Zero disables it. Default: 1 day.
  absl::Duration periodic_compaction = absl::Hours(24);
};

struct RedisEngineOptions {
  // redis://[user:password@]host:port[,host:port...]/db: one server, or seed nodes of a Redis
  // Cluster. Default: redis://127.0.0.1:6379/0.
  std::string url = "redis://127.0.0.1:6379/0";
  // "auto" (ask the first seed that answers), "standalone" or "cluster". Default: auto.
  std::string mode = "auto";
  // Password when the URL has none (from LARDER_REDIS_PASSWORD). Never logged. Default: empty.
  std::string password;
  // Prefix of every Redis key larder writes. Default: "larder:".
  std::string key_prefix = "larder:";
  // Connections kept open; each serves one call at a time. Default: 8.
  int pool_size = 8;
  // Connect timeout and per-command timeout. Default: 1 s and 1 s.
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
};

struct MemcachedEngineOptions {
  // host:port[,host:port...]: the memcached servers, keys spread over them by consistent hashing
  // (ketama). A host without a port means 11211; an IPv6 host goes in brackets. Default:
  // 127.0.0.1:11211.
  std::string servers = "127.0.0.1:11211";
  // Prefix of every memcached key larder writes; printable ASCII without spaces, at most 64 bytes.
  // Default: "larder:".
  std::string key_prefix = "larder:";
  // Connections kept per server (larderd: --storage-threads); each serves one call at a time.
  // Default: 4.
  int pool_size = 4;
  // Connect timeout and per-operation I/O timeout. Default: 1 s.
  absl::Duration timeout = absl::Seconds(1);
  // How long a server that failed is skipped (its keys miss) before it is tried again. Default: 1
  // s.
  absl::Duration retry_timeout = absl::Seconds(1);
  // The servers' item size limit (memcached -I): a larger item is refused. Default: 1 MiB.
  int64_t max_item_bytes = int64_t{1} << 20;
};

// Leases (StorageEngine::Lease), on every engine.
struct LeaseOptions {
  // Leases outstanding at once (memory, RocksDB: per larderd); a miss beyond them gets neither
  // a lease nor wait. Default: 100000.
  int64_t max_leases = 100000;
  // How long a value stored with a lease token stays available as `stale` after it expired or
  // was removed. Zero keeps none. Default: 10 s.
  absl::Duration grace = absl::Seconds(10);
  // Memory, RocksDB: bytes of stale copies kept (oldest dropped first). Default: 64 MiB.
  int64_t stale_bytes = int64_t{64} << 20;
};

// Every engine's options; larderd fills the one its --engine names.
struct EngineOptions {
  LeaseOptions leases;
  MemoryEngineOptions memory;
  RocksDbEngineOptions rocksdb;
  RedisEngineOptions redis;
  MemcachedEngineOptions memcached;
};

}  // namespace larder::storage

// RegisterBuiltinEngines: the one place that lists the engines compiled into this build.
#include "server/storage/engine_registry.h"
#include "server/storage/memory/memory_engine.h"
#ifdef LARDER_HAVE_ROCKSDB
#include "server/storage/rocksdb/rocksdb_engine.h"
#endif
#ifdef LARDER_HAVE_REDIS
#include "server/storage/redis/redis_engine.h"
#endif
#ifdef LARDER_HAVE_MEMCACHED
#include "server/storage/memcached/memcached_engine.h"
#endif

namespace larder::storage {

void RegisterBuiltinEngines(EngineRegistry& registry) {
  RegisterMemoryEngine(registry);
#ifdef LARDER_HAVE_ROCKSDB
  RegisterRocksDbEngine(registry);
#endif
#ifdef LARDER_HAVE_REDIS
  RegisterRedisEngine(registry);
#endif
#ifdef LARDER_HAVE_MEMCACHED
  RegisterMemcachedEngine(registry);
#endif
}

}  // namespace larder::storage

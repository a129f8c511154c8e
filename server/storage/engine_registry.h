// EngineRegistry: the storage engines larderd can run, by name. Engines are registered
// explicitly (RegisterBuiltinEngines from main() and from tests), never by static
// self-registration, which the linker would drop.
//
//   EngineRegistry registry;
//   RegisterBuiltinEngines(registry);
//   auto engine = registry.Create("memory", options, Clock::Real());
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

using EngineFactory = std::function<absl::StatusOr<std::unique_ptr<StorageEngine>>(
    const EngineOptions& options, const Clock& clock)>;

// Not thread-safe to mutate; fill it at start-up, then only Create.
class EngineRegistry {
 public:
  void Register(std::string name, EngineFactory factory);

  // kInvalidArgument naming the known engines when `name` is not registered; otherwise what
  // the factory returns (kInvalidArgument / kUnavailable with the reason).
  absl::StatusOr<std::unique_ptr<StorageEngine>> Create(absl::string_view name,
                                                        const EngineOptions& options,
                                                        const Clock& clock) const;

  // Registered names, sorted.
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, EngineFactory, std::less<>> factories_;
};

// Registers every engine this build includes ("memory", and "rocksdb" / "redis" / "memcached"
// when built).
void RegisterBuiltinEngines(EngineRegistry& registry);

}  // namespace larder::storage

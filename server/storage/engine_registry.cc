#include "server/storage/engine_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace larder::storage {

void EngineRegistry::Register(std::string name, EngineFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<StorageEngine>> EngineRegistry::Create(absl::string_view name,
                                                                      const EngineOptions& options,
                                                                      const Clock& clock) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "engine: unknown engine \"", name, "\"; this build has: ", absl::StrJoin(Names(), ", ")));
  }
  return it->second(options, clock);
}

std::vector<std::string> EngineRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

}  // namespace larder::storage

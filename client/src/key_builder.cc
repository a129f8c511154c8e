#include "larder/key_builder.h"

#include <xxhash.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace larder::internal {

std::string HashKey(absl::string_view function_name, absl::string_view encoded_arguments) {
  const XXH64_hash_t hash = XXH3_64bits(encoded_arguments.data(), encoded_arguments.size());
  const std::string hex = absl::StrFormat("%016x", hash);
  if (function_name.empty()) return hex;
  return absl::StrCat(function_name, ":", hex);
}

}  // namespace larder::internal
